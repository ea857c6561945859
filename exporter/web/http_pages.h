#pragma once

// The pages next to /metrics: a landing page for people and /healthz for kubelet probes.
// Served from civetweb's begin_request callback, so prometheus-cpp's Exposer keeps /metrics.

#include <CivetServer.h>
#include <civetweb.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "exporter/core/snapshot.h"
#include "exporter/metrics/exposition_cache.h"

namespace cbe {

// The realm of every 401 answer.
inline constexpr std::string_view kAuthRealm = "calico-bgp-exporter";

// What the web config asks of every request (WebServer implements it). Thread-safe.
class PageAccess {
 public:
  virtual ~PageAccess() = default;
  // Whether a request with this Authorization header (nullptr: none) may go on. True when no
  // basic-auth users are configured.
  virtual bool Authorized(const char* authorization) const = 0;
  // "Name: value\r\n" lines for every answer (http_server_config.headers).
  virtual std::string ExtraHeaders() const = 0;
};

struct HttpPagesOptions {
  std::string telemetry_path = "/metrics";
  std::chrono::milliseconds bird_interval{5000};
};

class HttpPages {
 public:
  HttpPages(HttpPagesOptions options, const SnapshotStore* store);

  // Callbacks for the Exposer. Only one HttpPages may be installed at a time.
  const CivetCallbacks* Callbacks();

  // From now on every request, the telemetry path's too, must pass `access` (nullptr: open),
  // and every answer written here carries its headers. `access` must outlive the server.
  void SetAccess(const PageAccess* access) { access_ = access; }

  std::string LandingPage(double now_unix) const;
  // {status code, body}: 200 while BIRD rounds keep finishing, 503 when they stalled.
  std::pair<int, std::string> Health(double now_unix) const;

 private:
  static int BeginRequest(mg_connection* conn);
  static int LogMessage(const mg_connection* conn, const char* message);

  HttpPagesOptions options_;
  const SnapshotStore* store_;
  mutable ExpositionCache exposition_;
  double started_unix_;
  std::atomic<const PageAccess*> access_{nullptr};
  CivetCallbacks callbacks_;
};

std::string HtmlEscape(std::string_view text);

}  // namespace cbe
