#pragma once

// Every answer of the HTTP server, from civetweb's begin_request callback: the telemetry path
// (/metrics, from the exposition cache), a landing page for people, /healthz for kubelet probes,
// /runbook (docs/runbook.md of this build, runbook_page.h), 401 without the web config's
// credentials, 404 and 405. Times come from the injected clock.

#include <CivetServer.h>
#include <civetweb.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "exporter/base/clock.h"
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

// /healthz fails once the last BIRD round (or the start, before the first one) is older than
// this many BIRD intervals plus kHealthGrace: rounds may stall only while BIRD's deadlines run.
inline constexpr int kHealthStalledRounds = 3;
inline constexpr std::chrono::seconds kHealthGrace{60};

class HttpPages {
 public:
  // `store` and `clock` must outlive the pages.
  HttpPages(HttpPagesOptions options, const SnapshotStore* store, const Clock* clock);

  // Callbacks for the civetweb server (WebServer). Only one HttpPages may be installed at a time.
  const CivetCallbacks* Callbacks();

  // From now on every request, the telemetry path's too, must pass `access` (nullptr: open),
  // and every answer written here carries its headers. `access` must outlive the server.
  void SetAccess(const PageAccess* access) { access_ = access; }

  // The landing page of the latest snapshot (HTML; peer-supplied text escaped).
  std::string LandingPage() const;
  // {status code, body}: 200 while BIRD rounds keep finishing, 503 when they stalled: the last
  // one (or the start, before the first) is more than kHealthStalledRounds BIRD intervals plus
  // kHealthGrace old.
  std::pair<int, std::string> Health() const;

 private:
  static int BeginRequest(mg_connection* conn);
  static int LogMessage(const mg_connection* conn, const char* message);
  // The answer to one request; returns its status code.
  int Serve(mg_connection* conn, std::string_view uri, std::string_view method) const;
  int ServeMetrics(mg_connection* conn, bool head, const std::string& extra_headers) const;

  HttpPagesOptions options_;
  const SnapshotStore* store_;
  const Clock* clock_;
  mutable ExpositionCache exposition_;
  double started_unix_;
  std::atomic<const PageAccess*> access_{nullptr};
  CivetCallbacks callbacks_;
};

// `text` with & < > " ' as HTML character references: safe in element text and quoted attributes.
std::string HtmlEscape(std::string_view text);

}  // namespace cbe
