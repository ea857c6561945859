#pragma once

// The pages next to /metrics: a landing page for people and /healthz for kubelet probes.
// Served from civetweb's begin_request callback, so prometheus-cpp's Exposer keeps /metrics.

#include <CivetServer.h>
#include <civetweb.h>

#include <chrono>
#include <string>

#include "exporter/snapshot.h"

namespace cbe {

struct HttpPagesOptions {
  std::string telemetry_path = "/metrics";
  std::chrono::milliseconds bird_interval{5000};
};

class HttpPages {
 public:
  HttpPages(HttpPagesOptions options, const SnapshotStore* store);

  // Callbacks for the Exposer. Only one HttpPages may be installed at a time.
  const CivetCallbacks* Callbacks();

  std::string LandingPage(double now_unix) const;
  // {status code, body}: 200 while BIRD rounds keep finishing, 503 when they stalled.
  std::pair<int, std::string> Health(double now_unix) const;

 private:
  static int BeginRequest(mg_connection* conn);
  static int LogMessage(const mg_connection* conn, const char* message);

  HttpPagesOptions options_;
  const SnapshotStore* store_;
  double started_unix_;
  CivetCallbacks callbacks_;
};

std::string HtmlEscape(std::string_view text);

}  // namespace cbe
