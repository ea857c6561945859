#pragma once

// One HTTP(S) GET, as the node exporter asks the intent service for its sessions. An interface:
// the implementation (libcurl) lives in the kube plugin, loaded only when the config names an
// intent URL, and tests use their own.

#include <chrono>
#include <cstddef>
#include <string>

namespace cbe {

struct HttpGetRequest {
  std::string url;            // "http://host:10180/v1/nodes/node-1/sessions"
  std::string ca_file;        // For https: the CA that signs the server (empty: the system's).
  std::string if_none_match;  // The ETag of the answer kept, or "".
  std::chrono::milliseconds timeout{5000};  // The whole request.
  std::size_t max_bytes = 16 << 20;         // A larger body is an error.
};

struct HttpGetResponse {
  int status = 0;     // 0 when no answer came (then `error` says why).
  std::string body;   // Of a 200.
  std::string etag;   // The answer's ETag header, if any.
  std::string error;  // Transport failure or an oversized body.
};

class HttpGetter {
 public:
  virtual ~HttpGetter() = default;
  virtual HttpGetResponse Get(const HttpGetRequest& request) = 0;
};

}  // namespace cbe
