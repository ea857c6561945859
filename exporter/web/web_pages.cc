#include "exporter/web/web_pages.h"

namespace cbe {

void SendHeader(mg_connection* conn, int status, const char* reason, const char* content_type,
                std::size_t content_length, const std::string& extra_headers,
                const char* cache_control) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n%s"
            "Connection: close\r\n\r\n",
            status, reason, content_type, content_length, cache_control, extra_headers.c_str());
}

void Send(mg_connection* conn, int status, const char* reason, const char* content_type,
          const std::string& body, bool head, const std::string& extra_headers) {
  SendHeader(conn, status, reason, content_type, body.size(), extra_headers);
  if (!head) {
    mg_write(conn, body.data(), body.size());
  }
}

bool CheckAccess(mg_connection* conn, const PageAccess* access, bool head, std::string& extra) {
  extra = access != nullptr ? access->ExtraHeaders() : "";
  if (access != nullptr && !access->Authorized(mg_get_header(conn, "Authorization"))) {
    Send(conn, 401, "Unauthorized", kPlainText, "401 Unauthorized\n", head,
         "WWW-Authenticate: Basic realm=\"" + std::string(kAuthRealm) +
             "\", charset=\"UTF-8\"\r\n" + extra);
    return false;
  }
  return true;
}

bool IfNoneMatchMatches(const char* if_none_match, std::string_view etag) {
  if (if_none_match == nullptr) {
    return false;
  }
  auto opaque = [](std::string_view tag) {
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    return tag;
  };
  const std::string_view want = opaque(etag);
  std::string_view list(if_none_match);
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    const std::size_t first = tag.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      continue;
    }
    tag = tag.substr(first, tag.find_last_not_of(" \t") - first + 1);
    if (tag == "*" || opaque(tag) == want) {
      return true;
    }
  }
  return false;
}

}  // namespace cbe
