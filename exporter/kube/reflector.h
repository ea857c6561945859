#pragma once

// LIST + WATCH of one resource, as client-go's reflector does it: LIST in pages (limit,
// continue), then WATCH from the list's resourceVersion with bookmarks, and again from the last
// resourceVersion seen whenever a watch ends; LIST again when the API says 410 Gone (history
// compacted, continue token expired). Errors wait with backoff and jitter; every request has
// deadlines. The objects go into a ResourceStore; `changed` is called after each change of the
// view. Runs on its caller's thread until `stop`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "exporter/kube/backoff.h"
#include "exporter/kube/http.h"
#include "exporter/kube/store.h"

namespace cbe::kube {

struct ReflectorOptions {
  std::size_t page_size = 500;  // LIST limit (client-go's default)
  // Each request's answer must start within this time, and a LIST page must not pause longer.
  std::chrono::milliseconds request_timeout{30000};
  // Each WATCH asks the server to end it after watch_timeout..2*watch_timeout (random, as
  // client-go), so connections are renewed and a silently dead one is noticed.
  std::chrono::seconds watch_timeout{300};
  std::size_t max_page_bytes = std::size_t{512} << 20;
  std::size_t max_event_bytes = std::size_t{16} << 20;  // etcd's own object limit is 1.5 MiB
  BackoffOptions backoff;
};

// The current bearer token ("" for none), read before every request: it rotates.
using TokenSource = std::function<Result<std::string>()>;

struct ReflectorEnv {
  HttpClient* http = nullptr;
  const Clock* clock = nullptr;
  std::function<double()> random01;
  TokenSource token;
  std::function<void()> changed;  // the store's view changed
};

class Reflector {
 public:
  Reflector(ResourceStore* store, ReflectorOptions options, ReflectorEnv env);

  // LIST + WATCH until Stop().
  void Run();
  // Ends Run() soon: waits end at once, a running request within about a second.
  void Stop();
  const std::atomic<bool>* stop_flag() const { return &stop_; }

 private:
  enum class PageOutcome { kOk, kExpired, kFailed };
  // One whole LIST (every page, again from the first when a continue token expired); false on
  // failure (recorded).
  bool List();
  // One page of it; kExpired when the continue token did, kFailed (recorded) otherwise.
  PageOutcome FetchPage(const std::string& continue_token, kube::ListPage& page);
  // One WATCH from resource_version_, until it ends.
  WatchEnd Watch();
  // Why the WATCH that gave `response` ended (recorded).
  WatchEnd WatchEndOf(const HttpResponse& response, const LineSplitter& lines);
  // Applies one line of the watch stream; false ends the watch (end_ says why).
  bool OnWatchLine(std::string_view line);
  // GET with the current token; fills `response`. False (recorded) when no token.
  bool Get(const std::string& path_and_query, HttpRequest& request, HttpResponse& response);
  // Records a failed answer (transport error or non-2xx status) of `what` ("LIST", "WATCH").
  void RecordFailure(const char* what, const HttpResponse& response);
  void RecordError(ErrorKind kind, const std::string& message);
  void RecordRecovery(const char* what);
  // An object the engine cannot read (counted as invalid_object, logged once per change).
  void RecordInvalid(const std::string& name, const std::string& message);
  // Waits `delay` unless stopped; false when stopped.
  bool Wait(std::chrono::milliseconds delay);
  double NowUnix() const { return ToUnixSeconds(env_.clock->Now()); }

  ResourceStore* store_;
  ReflectorOptions options_;
  ReflectorEnv env_;
  Backoff backoff_;
  std::atomic<bool> stop_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;

  std::string resource_version_;  // "" = LIST needed
  std::optional<WatchEnd> end_;   // set by OnWatchLine when an event ends the watch
  bool failing_ = false;          // an error was logged; the next success logs the recovery
};

// The ErrorKind of a non-2xx HTTP status.
ErrorKind KindOfStatus(int http_status);

}  // namespace cbe::kube
