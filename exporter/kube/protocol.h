#pragma once

// The Kubernetes API's wire format as far as LIST + WATCH need it (apimachinery's meta/v1 List,
// Status, WatchEvent, discovery's APIGroupList and APIResourceList). Pure: bytes in, structs out;
// no IO, no clock, no logging.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"

namespace cbe::kube {

// A cluster-scoped resource: "v1" nodes, "crd.projectcalico.org/v1" bgppeers, ...
struct ResourceType {
  std::string api_version;  // "v1" (core) or "group/version"
  std::string plural;       // "nodes"
  std::string kind;         // "Node"
  // "/api/v1/nodes" or "/apis/crd.projectcalico.org/v1/bgppeers".
  std::string Path() const;
  // "crd.projectcalico.org/v1 bgppeers"
  std::string Name() const { return api_version + " " + plural; }
};

// A meta/v1 Status: the body of an error answer and the object of a watch ERROR event.
struct Status {
  int code = 0;         // the HTTP status it stands for (410 for "too old resource version")
  std::string reason;   // "Expired", "Gone", "Unauthorized", "Forbidden", ...
  std::string message;  // for people
};

// The Status in an error answer's body, or one made from the HTTP status when the body is not
// a Status (a proxy's HTML page, nothing at all).
Status DecodeStatus(std::string_view body, int http_status);

// One page of a LIST answer.
struct ListPage {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // metadata.resourceVersion: where a WATCH picks up
  std::string continue_token;    // metadata.continue: "" on the last page
};

// Parses a LIST answer (a *List object). Each item's `status` and `metadata.managedFields` are
// skipped while parsing, never held: a Kubernetes Node's status (images, conditions) is most
// of its bytes, and nothing here reads it.
Result<ListPage> DecodeListPage(std::string_view body);

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view EventTypeName(EventType t);

struct WatchEvent {
  EventType type = EventType::kAdded;
  nlohmann::json object;         // the object (ADDED, MODIFIED, DELETED; BOOKMARK: only metadata)
  std::string resource_version;  // the object's metadata.resourceVersion
  Status status;                 // for kError
};

// Parses one line of a WATCH stream: {"type": "...", "object": {...}} (status and
// managedFields of the object skipped as for lists).
Result<WatchEvent> DecodeWatchEvent(std::string_view line);

// Cuts a WATCH stream (JSON objects, one per line, as the API server writes them) into lines,
// whatever the chunks it arrives in. A line longer than `max_line` bytes is an error (a broken or
// hostile stream); the splitter then refuses everything until Reset().
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}
  // Appends `chunk` and hands every complete line (without its newline, empty lines skipped) to
  // `line`; false when `line` returned false or a line is too long.
  template <typename F>
  bool Feed(std::string_view chunk, F&& line);
  bool too_long() const { return too_long_; }
  std::size_t pending() const { return buffer_.size(); }  // bytes of an unfinished line
  void Reset() {
    buffer_.clear();
    too_long_ = false;
  }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool too_long_ = false;
};

// The group versions an APIGroupList (GET /apis) says are served: {"crd.projectcalico.org/v1",
// "projectcalico.org/v3", ...}.
Result<std::set<std::string>> DecodeGroupVersions(std::string_view body);
// The resources an APIResourceList (GET /apis/GROUP/VERSION) serves: {"bgppeers", ...}
// (subresources such as "nodes/status" left out).
Result<std::set<std::string>> DecodeResourceNames(std::string_view body);

// Query strings. `limit` 0: no limit. Values are percent-encoded.
std::string ListQuery(std::size_t limit, std::string_view continue_token);
std::string WatchQuery(std::string_view resource_version, int timeout_seconds, bool bookmarks);
std::string PercentEncode(std::string_view text);

template <typename F>
bool LineSplitter::Feed(std::string_view chunk, F&& line) {
  if (too_long_) {
    return false;
  }
  while (!chunk.empty()) {
    const std::size_t nl = chunk.find('\n');
    const std::string_view part = chunk.substr(0, nl);
    if (buffer_.size() + part.size() > max_line_) {
      too_long_ = true;
      buffer_.clear();
      return false;
    }
    if (nl == std::string_view::npos) {
      buffer_.append(part);
      return true;
    }
    chunk.remove_prefix(nl + 1);
    bool go_on = true;
    if (buffer_.empty()) {
      go_on = part.find_first_not_of(" \r\t") == std::string_view::npos || line(part);
    } else {
      buffer_.append(part);
      const std::string whole = std::move(buffer_);
      buffer_.clear();
      go_on =
          whole.find_first_not_of(" \r\t") == std::string::npos || line(std::string_view(whole));
    }
    if (!go_on) {
      return false;
    }
  }
  return true;
}

}  // namespace cbe::kube
