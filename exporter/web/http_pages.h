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
#include "exporter/web/web_pages.h"

namespace cbe {

struct HttpPagesOptions {
  std::string telemetry_path = "/metrics";
  std::chrono::milliseconds bird_interval{5000};
};

// /healthz fails once the last BIRD round (or the start, before the first one) is older than
// this many BIRD intervals plus kHealthGrace: rounds may stall only while BIRD's deadlines run.
inline constexpr int kHealthStalledRounds = 3;
inline constexpr std::chrono::seconds kHealthGrace{60};

class HttpPages : public WebPages {
 public:
  // `store` and `clock` must outlive the pages.
  HttpPages(HttpPagesOptions options, const SnapshotStore* store, const Clock* clock);

  // WebPages: the telemetry path's requests too must pass `access`.
  const CivetCallbacks* Callbacks() override;
  void SetAccess(const PageAccess* access) override { access_ = access; }

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
