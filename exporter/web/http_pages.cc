#include "exporter/web/http_pages.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <sstream>

#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
#include "exporter/base/version.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/probe_table.h"
#include "exporter/web/runbook_page.h"

namespace cbe {
namespace {

std::atomic<const HttpPages*> g_pages{nullptr};

constexpr const char* kHtml = "text/html; charset=utf-8";

std::string FormatUtc(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

constexpr double kMillisecondsPerSecond = 1000;

// The landing page's parts, each appended to `h`. `now` is the injected clock's Unix time.

void AppendHead(std::ostringstream& h, const std::string& telemetry_path) {
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<title>calico-bgp-exporter</title><style>"
       "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
       ".up{color:#070}.down{color:#b00}</style></head><body>\n"
       "<h1>calico-bgp-exporter</h1>\n<p>Version "
    << HtmlEscape(kVersion) << " (" << HtmlEscape(kRevision) << "). <a href=\""
    << HtmlEscape(telemetry_path) << "\">Metrics</a> &middot; <a href=\"/healthz\">"
    << "Health</a> &middot; <a href=\"/runbook\">Runbook</a></p>\n";
}

void AppendRuns(std::ostringstream& h, const Snapshot& snapshot, double now) {
  h << "<p>Last rounds:";
  for (const ProbeKind& kind : ProbeKinds()) {
    if (const ProbeRun* run = kind.last_run(snapshot); run != nullptr) {
      h << " " << HtmlEscape(run->probe) << " " << FormatAge(now - run->last_run_timestamp)
        << " ago (" << std::llround(run->duration_seconds * kMillisecondsPerSecond) << " ms"
        << (run->success ? "" : ", failed") << ");";
    }
  }
  h << " " << FormatUtc(now) << ".</p>\n";
}

// The diagnosis of a session, if the snapshot has one (the last one listed wins).
const PeerDiagnosis* FindDiagnosis(const DiagnosisSnapshot* diagnosis, const std::string& daemon,
                                   std::string_view protocol) {
  const PeerDiagnosis* found = nullptr;
  if (diagnosis != nullptr) {
    for (const PeerDiagnosis& x : diagnosis->peers) {
      if (x.daemon == daemon && x.protocol == protocol) {
        found = &x;
      }
    }
  }
  return found;
}

void AppendPeerRow(std::ostringstream& h, const PeerSnapshot& p, const PeerDiagnosis* dg,
                   double now) {
  h << "<tr><td>" << HtmlEscape(p.protocol) << "</td><td>" << HtmlEscape(p.peer) << "</td><td>"
    << HtmlEscape(p.peer_type) << "</td><td class=\"" << (p.up ? "up" : "down") << "\">"
    << HtmlEscape(p.state) << "</td><td>";
  if (p.state_change_timestamp) {
    h << (p.state_change_exact ? "" : "&ge; ") << FormatAge(now - *p.state_change_timestamp);
  }
  h << "</td><td>" << HtmlEscape(p.neighbor_as) << "</td><td>";
  if (!p.last_error.empty()) {
    h << HtmlEscape(p.last_error.class_text) << ": " << HtmlEscape(p.last_error.message);
  }
  h << "</td><td>";
  if (dg != nullptr) {
    const std::string cause = HtmlEscape(CauseName(dg->diagnosis.cause));
    h << "<a href=\"/runbook#cause-" << cause << "\" title=\"" << HtmlEscape(dg->diagnosis.evidence)
      << "\">" << cause << "</a></td><td>" << HtmlEscape(NextStep(dg->diagnosis.cause));
  } else {
    h << "</td><td>";
  }
  h << "</td></tr>\n";
}

void AppendDaemon(std::ostringstream& h, const DaemonSnapshot& d,
                  const DiagnosisSnapshot* diagnosis, double now) {
  h << "<h2>" << HtmlEscape(d.daemon) << " <small>" << HtmlEscape(d.socket) << "</small></h2>\n";
  if (!d.up) {
    h << "<p class=\"down\">BIRD is down: " << HtmlEscape(d.error) << "</p>\n";
    if (!d.last_known_peers.empty()) {
      h << "<p>Its " << d.last_known_peers.size()
        << " BGP sessions are diagnosed <code>bird_down</code>: "
        << HtmlEscape(NextStep(Cause::kBirdDown)) << "</p>\n";
    }
    return;
  }
  h << "<p class=\"up\">BIRD " << HtmlEscape(d.version) << ", router ID " << HtmlEscape(d.router_id)
    << ": " << HtmlEscape(d.daemon_message) << "</p>\n";
  h << "<table><tr><th>Protocol</th><th>Peer</th><th>Type</th><th>State</th>"
       "<th>Since</th><th>Neighbor AS</th><th>Last error</th><th>Cause</th>"
       "<th>Next step</th></tr>\n";
  for (const PeerSnapshot& p : d.peers) {
    AppendPeerRow(h, p, FindDiagnosis(diagnosis, d.daemon, p.protocol), now);
  }
  // Sessions Calico asks for that this BIRD does not run: rows of their own.
  if (diagnosis != nullptr) {
    for (const PeerDiagnosis& x : diagnosis->peers) {
      if (x.daemon == d.daemon && x.diagnosis.cause == Cause::kSessionMissing) {
        PeerSnapshot row;
        row.protocol = x.protocol;
        row.peer = x.peer;
        row.peer_type = x.peer_type;
        row.state = "(not in BIRD)";
        AppendPeerRow(h, row, &x, now);
      }
    }
  }
  h << "</table>\n";
}

}  // namespace

HttpPages::HttpPages(HttpPagesOptions options, const SnapshotStore* store, const Clock* clock)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      exposition_(store),
      started_unix_(ToUnixSeconds(clock->Now())) {
  callbacks_.begin_request = &HttpPages::BeginRequest;
  callbacks_.log_message = &HttpPages::LogMessage;
}

const CivetCallbacks* HttpPages::Callbacks() {
  g_pages = this;
  return &callbacks_;
}

std::pair<int, std::string> HttpPages::Health() const {
  const auto snapshot = store_->Get();
  const double now = ToUnixSeconds(clock_->Now());
  const double allowed =
      std::chrono::duration<double>(kHealthStalledRounds * options_.bird_interval + kHealthGrace)
          .count();
  const double last = snapshot->bird ? snapshot->bird->run.last_run_timestamp : started_unix_;
  if (now - last > allowed) {
    return {503, "BIRD rounds stalled: the last one finished " + FormatAge(now - last) + " ago\n"};
  }
  return {200, "ok\n"};
}

std::string HttpPages::LandingPage() const {
  const auto snapshot = store_->Get();
  const double now = ToUnixSeconds(clock_->Now());
  std::ostringstream h;
  AppendHead(h, options_.telemetry_path);
  if (snapshot->bird == nullptr) {
    h << "<p>The first BIRD round has not finished yet.</p>\n";
  } else {
    AppendRuns(h, *snapshot, now);
    for (const DaemonSnapshot& d : snapshot->bird->daemons) {
      AppendDaemon(h, d, snapshot->diagnosis.get(), now);
    }
  }
  h << "</body></html>\n";
  return h.str();
}

int HttpPages::BeginRequest(mg_connection* conn) {
  const HttpPages* self = g_pages.load();
  const mg_request_info* info = mg_get_request_info(conn);
  if (self == nullptr || info == nullptr || info->local_uri == nullptr) {
    return 0;
  }
  return self->Serve(conn, info->local_uri, info->request_method ? info->request_method : "");
}

int HttpPages::Serve(mg_connection* conn, std::string_view uri, std::string_view method) const {
  const bool head = method == "HEAD";
  // Every path needs the credentials, as with exporter-toolkit: unknown ones too (401 before
  // 404).
  std::string extra;
  if (!CheckAccess(conn, access_.load(), head, extra)) {
    return 401;
  }
  const bool metrics = uri == options_.telemetry_path;
  if (!metrics && uri != "/" && uri != "/healthz" && uri != "/runbook") {
    Send(conn, 404, "Not Found", kPlainText, "404 page not found\n", head, extra);
    return 404;
  }
  if (method != "GET" && !head) {
    Send(conn, 405, "Method Not Allowed", kPlainText, "405 method not allowed: use GET\n", false,
         extra);
    return 405;
  }
  if (metrics) {
    return ServeMetrics(conn, head, extra);
  }
  if (uri == "/healthz") {
    auto [status, body] = Health();
    Send(conn, status, status == 200 ? "OK" : "Service Unavailable", kPlainText, body, head, extra);
    return status;
  }
  Send(conn, 200, "OK", kHtml, uri == "/runbook" ? RunbookPage() : LandingPage(), head, extra);
  return 200;
}

// The latest snapshot's exposition, rendered once and shared by every scrape until the next
// round (exporter/metrics/exposition_cache.h): gzip when the client takes it, else the text.
int HttpPages::ServeMetrics(mg_connection* conn, bool head,
                            const std::string& extra_headers) const {
  const auto rendered = exposition_.Get();
  const char* accept = mg_get_header(conn, "Accept-Encoding");
  const bool gzip = accept != nullptr &&
                    std::string_view(accept).find("gzip") != std::string_view::npos &&
                    !rendered->gzip.empty();
  if (gzip) {
    Send(conn, 200, "OK", kExpositionType, rendered->gzip, head,
         "Content-Encoding: gzip\r\n" + extra_headers);
    return 200;
  }
  SendHeader(conn, 200, "OK", kExpositionType, rendered->text_size, extra_headers);
  if (!head) {
    rendered->WriteText([conn](std::string_view chunk) {
      return mg_write(conn, chunk.data(), chunk.size()) == static_cast<int>(chunk.size());
    });
  }
  return 200;
}

int HttpPages::LogMessage(const mg_connection* /*conn*/, const char* message) {
  logging::Warn("HTTP server", {{"err", message ? message : ""}});
  return 1;
}

}  // namespace cbe
