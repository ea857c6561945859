#pragma once

// What the reader did, as plain data for the metrics layer (exporter/metrics knows how to show
// it) and the log: per resource the last time it was known current, watch restarts by reason,
// requests by verb, errors by kind. Plain data, no prometheus-cpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cbe::kube {

// Why a request failed (the `kind` label of calico_bgp_kube_errors_total).
enum class ErrorKind {
  kConnect,        // no TCP connection (refused, unreachable, DNS)
  kTls,            // TLS handshake or certificate verification failed
  kTimeout,        // no answer, or no data, within the deadline
  kDropped,        // the connection broke in the middle of an answer
  kUnauthorized,   // 401: the token or client certificate is not accepted
  kForbidden,      // 403: RBAC does not allow it
  kNotFound,       // 404: the resource is not served
  kExpired,        // 410: resourceVersion or continue token too old (relist)
  kThrottled,      // 429
  kServerError,    // 5xx
  kHttp,           // any other unexpected HTTP status
  kDecode,         // the answer or a watch event is not what the API sends (JSON, fields)
  kInvalidObject,  // an object Calico's meaning cannot be read from (kept out, named in the log)
  kTooLarge,       // an answer or watch event beyond the size limit
};
inline constexpr std::size_t kErrorKinds = 14;
std::string_view ErrorKindName(ErrorKind k);  // "connect", "tls", ... "too_large"

// Why a watch ended and was opened again (the `reason` label of
// calico_bgp_kube_watch_restarts_total).
enum class WatchEnd {
  kTimeout,  // the server closed it after timeoutSeconds, as it should: re-watch at once
  kExpired,  // 410: history compacted past our resourceVersion: relist, then watch
  kDropped,  // the connection broke, or the server went away
  kError,    // an error answer or an event we could not read
};
inline constexpr std::size_t kWatchEnds = 4;
std::string_view WatchEndName(WatchEnd e);  // "timeout", "expired", "dropped", "error"

struct ResourceStats {
  std::string resource;              // "nodes", "bgppeers", "bgpconfigurations"
  std::string api_version;           // "v1", "crd.projectcalico.org/v1", "projectcalico.org/v3"
  bool listed = false;               // the first LIST finished: the resource is part of the view
  bool watching = false;             // a WATCH stream is open now
  double last_sync_unix = 0;         // last LIST finished, watch opened, event or bookmark seen
  std::size_t objects = 0;           // objects in the view
  std::size_t rejected = 0;          // objects kept out (or at their last good version): invalid
  std::uint64_t list_requests = 0;   // LIST pages requested
  std::uint64_t watch_requests = 0;  // WATCHes opened
  std::uint64_t events = 0;          // watch events applied (bookmarks included)
  std::array<std::uint64_t, kWatchEnds> watch_restarts{};
  std::array<std::uint64_t, kErrorKinds> errors{};
  std::string last_error;  // for the landing page
};

struct ReaderStats {
  std::vector<ResourceStats> resources;  // nodes, bgppeers, bgpconfigurations; empty before
                                         // discovery chose the API
  std::uint64_t discovery_requests = 0;
  std::array<std::uint64_t, kErrorKinds> discovery_errors{};
  bool synced = false;  // every resource listed: the view is complete
  std::string mode;     // "kubernetes-datastore" or "calico-apiserver" ("" before discovery)
};

}  // namespace cbe::kube
