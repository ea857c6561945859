#include "exporter/web/intent_pages.h"

#include "exporter/base/logging.h"
#include "exporter/base/version.h"
#include "exporter/web/http_pages.h"

namespace cbe {
namespace {

std::atomic<const IntentPages*> g_intent_pages{nullptr};

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kSessionsPrefix = "/v1/nodes/";
constexpr std::string_view kSessionsSuffix = "/sessions";

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 404:
      return "Not Found";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

int LogMessage(const mg_connection* /*conn*/, const char* message) {
  logging::Warn("HTTP server", {{"err", message ? message : ""}});
  return 1;
}

}  // namespace

std::string_view SessionsPathNode(std::string_view uri) {
  if (!uri.starts_with(kSessionsPrefix) || !uri.ends_with(kSessionsSuffix) ||
      uri.size() <= kSessionsPrefix.size() + kSessionsSuffix.size()) {
    return {};
  }
  const std::string_view node = uri.substr(
      kSessionsPrefix.size(), uri.size() - kSessionsPrefix.size() - kSessionsSuffix.size());
  return node.find('/') == std::string_view::npos ? node : std::string_view();
}

IntentPages::IntentPages(std::string telemetry_path, const IntentBackend* backend)
    : telemetry_path_(std::move(telemetry_path)), backend_(backend) {
  callbacks_.begin_request = &IntentPages::BeginRequest;
  callbacks_.log_message = &LogMessage;
}

const CivetCallbacks* IntentPages::Callbacks() {
  g_intent_pages = this;
  return &callbacks_;
}

int IntentPages::BeginRequest(mg_connection* conn) {
  const IntentPages* self = g_intent_pages.load();
  const mg_request_info* info = mg_get_request_info(conn);
  if (self == nullptr || info == nullptr || info->local_uri == nullptr) {
    return 0;
  }
  return self->Serve(conn, info->local_uri, info->request_method ? info->request_method : "");
}

int IntentPages::ServeSessions(mg_connection* conn, std::string_view node, bool head,
                               const std::string& extra) const {
  const PageReply r = backend_->NodeSessions(node);
  std::string headers = extra;
  if (!r.etag.empty()) {
    headers = "ETag: " + r.etag + "\r\n" + headers;
  }
  if (r.status == 200 && !r.etag.empty() &&
      IfNoneMatchMatches(mg_get_header(conn, "If-None-Match"), r.etag)) {
    mg_printf(conn,
              "HTTP/1.1 304 Not Modified\r\nCache-Control: no-cache\r\n"
              "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
              headers.c_str());
    return 304;
  }
  SendHeader(conn, r.status, Reason(r.status), r.content_type.c_str(), r.body.size(), headers,
             "no-cache");
  if (!head) {
    mg_write(conn, r.body.data(), r.body.size());
  }
  return r.status;
}

int IntentPages::Serve(mg_connection* conn, std::string_view uri, std::string_view method) const {
  const bool head = method == "HEAD";
  std::string extra;
  if (!CheckAccess(conn, access_.load(), head, extra)) {
    return 401;
  }
  const std::string_view node = SessionsPathNode(uri);
  const bool known = !node.empty() || uri == telemetry_path_ || uri == "/v1/findings" ||
                     uri == "/healthz" || uri == "/";
  if (!known) {
    Send(conn, 404, "Not Found", kPlainText, "404 page not found\n", head, extra);
    return 404;
  }
  if (method != "GET" && !head) {
    Send(conn, 405, "Method Not Allowed", kPlainText, "405 method not allowed: use GET\n", false,
         extra);
    return 405;
  }
  if (!node.empty()) {
    return ServeSessions(conn, node, head, extra);
  }
  PageReply r;
  if (uri == telemetry_path_) {
    r = {200, kExpositionType, backend_->Exposition(), ""};
  } else if (uri == "/v1/findings") {
    r = backend_->Findings();
  } else if (uri == "/healthz") {
    r = backend_->Health();
  } else {
    r.content_type = "text/html; charset=utf-8";
    r.body =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
        "calico-bgp-exporter intent</title></head><body>\n<h1>calico-bgp-exporter intent"
        "</h1>\n<p>Version " +
        HtmlEscape(kVersion) + " (" + HtmlEscape(kRevision) + "). <a href=\"" +
        HtmlEscape(telemetry_path_) +
        "\">Metrics</a> &middot; <a "
        "href=\"/v1/findings\">Findings</a> &middot; <a href=\"/healthz\">Health</a>. "
        "Sessions of a node: <code>/v1/nodes/NAME/sessions</code>.</p>\n<pre>" +
        HtmlEscape(backend_->Summary()) + "</pre>\n</body></html>\n";
  }
  Send(conn, r.status, Reason(r.status), r.content_type.c_str(), r.body, head, extra);
  return r.status;
}

}  // namespace cbe
