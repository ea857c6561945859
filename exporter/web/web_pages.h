#pragma once

// What the HTTP server (WebServer) needs of the pages it serves, and the pieces every set of
// pages shares: the web config's access check (401 before anything else, as exporter-toolkit
// does) and writing an answer. Two sets of pages use them: HttpPages (the node exporter) and
// IntentPages (`intent serve`).

#include <CivetServer.h>
#include <civetweb.h>

#include <cstddef>
#include <string>
#include <string_view>

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

// The pages a WebServer serves.
class WebPages {
 public:
  virtual ~WebPages() = default;
  // Callbacks for the civetweb server. Only one set of pages may be installed at a time.
  virtual const CivetCallbacks* Callbacks() = 0;
  // From now on every request must pass `access` (nullptr: open), and every answer carries its
  // headers. `access` must outlive the server.
  virtual void SetAccess(const PageAccess* access) = 0;
};

inline constexpr const char* kPlainText = "text/plain; charset=utf-8";

// The status line and headers of an answer; `cache_control` e.g. "no-store".
void SendHeader(mg_connection* conn, int status, const char* reason, const char* content_type,
                std::size_t content_length, const std::string& extra_headers,
                const char* cache_control = "no-store");
// A whole answer (the body left out for HEAD).
void Send(mg_connection* conn, int status, const char* reason, const char* content_type,
          const std::string& body, bool head, const std::string& extra_headers = "");

// Answers 401 (and returns false) unless `access` lets the request through; `extra` receives
// the headers for every answer.
bool CheckAccess(mg_connection* conn, const PageAccess* access, bool head, std::string& extra);

// Whether an If-None-Match header (nullptr: none) matches `etag` (a quoted entity tag): "*" or
// any tag of its list, weak tags compared by their opaque part (RFC 9110 13.1.2).
bool IfNoneMatchMatches(const char* if_none_match, std::string_view etag);

}  // namespace cbe
