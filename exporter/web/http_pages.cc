#include "exporter/web/http_pages.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <sstream>

#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/probe_table.h"
#include "version.h"

namespace cbe {
namespace {

std::atomic<const HttpPages*> g_pages{nullptr};

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatUtc(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

void SendHeader(mg_connection* conn, int status, const char* reason, const char* content_type,
                std::size_t content_length, const std::string& extra_headers) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
            "Connection: close\r\n\r\n",
            status, reason, content_type, content_length, extra_headers.c_str());
}

void Send(mg_connection* conn, int status, const char* reason, const char* content_type,
          const std::string& body, bool head, const std::string& extra_headers = "") {
  SendHeader(conn, status, reason, content_type, body.size(), extra_headers);
  if (!head) {
    mg_write(conn, body.data(), body.size());
  }
}

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

HttpPages::HttpPages(HttpPagesOptions options, const SnapshotStore* store)
    : options_(std::move(options)), store_(store), exposition_(store), started_unix_(NowUnix()) {
  callbacks_.begin_request = &HttpPages::BeginRequest;
  callbacks_.log_message = &HttpPages::LogMessage;
}

const CivetCallbacks* HttpPages::Callbacks() {
  g_pages = this;
  return &callbacks_;
}

std::pair<int, std::string> HttpPages::Health(double now_unix) const {
  const auto snapshot = store_->Get();
  const double interval = std::chrono::duration<double>(options_.bird_interval).count();
  // Rounds may stall only while BIRD's deadlines run; three intervals plus a minute is a hang.
  const double allowed = 3 * interval + 60;
  const double last = snapshot->bird ? snapshot->bird->run.last_run_timestamp : started_unix_;
  if (now_unix - last > allowed) {
    return {503,
            "BIRD rounds stalled: the last one finished " + FormatAge(now_unix - last) + " ago\n"};
  }
  return {200, "ok\n"};
}

std::string HttpPages::LandingPage(double now_unix) const {
  const auto snapshot = store_->Get();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<title>calico-bgp-exporter</title><style>"
       "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
       ".up{color:#070}.down{color:#b00}</style></head><body>\n"
       "<h1>calico-bgp-exporter</h1>\n<p>Version "
    << HtmlEscape(kVersion) << " (" << HtmlEscape(kRevision) << "). <a href=\""
    << HtmlEscape(options_.telemetry_path) << "\">Metrics</a> &middot; <a href=\"/healthz\">"
    << "Health</a></p>\n";
  const BirdSnapshot* b = snapshot->bird.get();
  if (b == nullptr) {
    h << "<p>The first BIRD round has not finished yet.</p>\n";
  } else {
    h << "<p>Last rounds:";
    for (const ProbeKind& kind : ProbeKinds()) {
      if (const ProbeRun* run = kind.last_run(*snapshot); run != nullptr) {
        h << " " << HtmlEscape(run->probe) << " " << FormatAge(now_unix - run->last_run_timestamp)
          << " ago (" << static_cast<long long>(std::round(run->duration_seconds * 1000)) << " ms"
          << (run->success ? "" : ", failed") << ");";
      }
    }
    h << " " << FormatUtc(now_unix) << ".</p>\n";
    for (const DaemonSnapshot& d : b->daemons) {
      h << "<h2>" << HtmlEscape(d.daemon) << " <small>" << HtmlEscape(d.socket)
        << "</small></h2>\n";
      if (!d.up) {
        h << "<p class=\"down\">BIRD is down: " << HtmlEscape(d.error) << "</p>\n";
        if (!d.last_known_peers.empty()) {
          h << "<p>Its " << d.last_known_peers.size()
            << " BGP sessions are diagnosed <code>bird_down</code>: "
            << HtmlEscape(NextStep(Cause::kBirdDown)) << "</p>\n";
        }
        continue;
      }
      h << "<p class=\"up\">BIRD " << HtmlEscape(d.version) << ", router ID "
        << HtmlEscape(d.router_id) << ": " << HtmlEscape(d.daemon_message) << "</p>\n";
      h << "<table><tr><th>Protocol</th><th>Peer</th><th>Type</th><th>State</th>"
           "<th>Since</th><th>Neighbor AS</th><th>Last error</th><th>Cause</th>"
           "<th>Next step</th></tr>\n";
      for (const PeerSnapshot& p : d.peers) {
        const PeerDiagnosis* dg = nullptr;
        if (snapshot->diagnosis) {
          for (const PeerDiagnosis& x : snapshot->diagnosis->peers) {
            if (x.daemon == d.daemon && x.protocol == p.protocol) {
              dg = &x;
            }
          }
        }
        h << "<tr><td>" << HtmlEscape(p.protocol) << "</td><td>" << HtmlEscape(p.peer)
          << "</td><td>" << HtmlEscape(p.peer_type) << "</td><td class=\"" << (p.up ? "up" : "down")
          << "\">" << HtmlEscape(p.state) << "</td><td>";
        if (p.state_change_timestamp) {
          h << (p.state_change_exact ? "" : "&ge; ")
            << FormatAge(now_unix - *p.state_change_timestamp);
        }
        h << "</td><td>" << HtmlEscape(p.neighbor_as) << "</td><td>";
        if (!p.last_error.empty()) {
          h << HtmlEscape(p.last_error.class_text) << ": " << HtmlEscape(p.last_error.message);
        }
        h << "</td><td>";
        if (dg != nullptr) {
          h << "<span title=\"" << HtmlEscape(dg->diagnosis.evidence) << "\">"
            << HtmlEscape(CauseName(dg->diagnosis.cause)) << "</span></td><td>"
            << HtmlEscape(NextStep(dg->diagnosis.cause));
        } else {
          h << "</td><td>";
        }
        h << "</td></tr>\n";
      }
      h << "</table>\n";
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
  const std::string_view uri = info->local_uri;
  const std::string_view method = info->request_method ? info->request_method : "";
  const bool head = method == "HEAD";
  // Every path needs the credentials, as with exporter-toolkit: unknown ones too (401 before
  // 404), and the telemetry path, which prometheus-cpp's RegisterAuth checks again.
  const PageAccess* access = self->access_.load();
  const std::string extra = access != nullptr ? access->ExtraHeaders() : "";
  if (access != nullptr && !access->Authorized(mg_get_header(conn, "Authorization"))) {
    Send(conn, 401, "Unauthorized", "text/plain; charset=utf-8", "401 Unauthorized\n", head,
         "WWW-Authenticate: Basic realm=\"" + std::string(kAuthRealm) +
             "\", charset=\"UTF-8\"\r\n" + extra);
    return 401;
  }
  if (uri == self->options_.telemetry_path) {
    if (method != "GET" && !head) {
      Send(conn, 405, "Method Not Allowed", "text/plain; charset=utf-8",
           "405 method not allowed: use GET\n", false, extra);
      return 405;
    }
    // The latest snapshot's exposition, rendered once and shared by every scrape until the next
    // round (exporter/exposition_cache.h).
    const auto rendered = self->exposition_.Get();
    const char* accept = mg_get_header(conn, "Accept-Encoding");
    const bool gzip = accept != nullptr &&
                      std::string_view(accept).find("gzip") != std::string_view::npos &&
                      !rendered->gzip.empty();
    if (gzip) {
      Send(conn, 200, "OK", kExpositionType, rendered->gzip, head,
           "Content-Encoding: gzip\r\n" + extra);
    } else {
      SendHeader(conn, 200, "OK", kExpositionType, rendered->text_size, extra);
      if (!head) {
        rendered->WriteText([conn](std::string_view chunk) {
          return mg_write(conn, chunk.data(), chunk.size()) == static_cast<int>(chunk.size());
        });
      }
    }
    return 200;
  }
  if (uri != "/" && uri != "/healthz") {
    Send(conn, 404, "Not Found", "text/plain; charset=utf-8", "404 page not found\n", head, extra);
    return 404;
  }
  if (method != "GET" && !head) {
    Send(conn, 405, "Method Not Allowed", "text/plain; charset=utf-8",
         "405 method not allowed: use GET\n", false, extra);
    return 405;
  }
  const double now = NowUnix();
  if (uri == "/healthz") {
    auto [status, body] = self->Health(now);
    Send(conn, status, status == 200 ? "OK" : "Service Unavailable", "text/plain; charset=utf-8",
         body, head, extra);
    return status;
  }
  Send(conn, 200, "OK", "text/html; charset=utf-8", self->LandingPage(now), head, extra);
  return 200;
}

int HttpPages::LogMessage(const mg_connection* /*conn*/, const char* message) {
  logging::Warn("HTTP server", {{"err", message ? message : ""}});
  return 1;
}

}  // namespace cbe
