#pragma once

// GET over HTTPS with libcurl, for the reader: one client per thread, its connection (and TLS
// session) kept between requests. Every request has deadlines: for the answer to start
// (connect, TLS, status line), for silence in the middle of it, and for the whole. A body
// streams to a callback as it arrives (a WATCH never ends by itself). An interface, so the
// reader's logic can be driven by a scripted client.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"
#include "exporter/kube/credentials.h"
#include "exporter/kube/stats.h"

namespace cbe::kube {

struct HttpRequest {
  std::string path_and_query;  // "/api/v1/nodes?limit=500"; the server comes from the client
  std::string bearer_token;    // "" sends no Authorization header
  // Until the status line arrived: connect, TLS handshake, the server's first byte.
  std::chrono::milliseconds response_timeout{30000};
  // No byte for this long in the middle of the answer (0: no limit).
  std::chrono::milliseconds idle_timeout{0};
  // The whole request (0: no limit).
  std::chrono::milliseconds total_timeout{0};
  // Called once the status line and headers arrived, with the status.
  std::function<void(int)> on_response;
  // Body pieces of a 2xx answer as they arrive; returning false ends the request early
  // (not an error).
  std::function<bool(std::string_view)> on_body;
  // More request headers, "Name: value" (e.g. If-None-Match).
  std::vector<std::string> headers;
};

struct HttpResponse {
  int status = 0;                  // HTTP status; 0 when no answer came
  std::optional<ErrorKind> error;  // transport failure (connect, tls, timeout, dropped)
  std::string message;             // what failed, for the log
  std::string error_body;          // the body of a non-2xx answer (first 64 KiB)
  bool stopped = false;            // Stop() or on_body ended it
  std::string etag;                // the ETag header of the answer, if any
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual HttpResponse Get(const HttpRequest& request) = 0;
};

// Creates a client per thread for one API server.
class HttpClientFactory {
 public:
  virtual ~HttpClientFactory() = default;
  // `stop`: set by the owner to end every running request within about a second.
  virtual std::unique_ptr<HttpClient> Create(const std::atomic<bool>* stop) = 0;
};

// libcurl with the credentials' server, CA and client certificate (not the token: the caller
// reads it for every request, it rotates).
class CurlClientFactory : public HttpClientFactory {
 public:
  CurlClientFactory(Credentials credentials, std::string user_agent);
  std::unique_ptr<HttpClient> Create(const std::atomic<bool>* stop) override;

 private:
  Credentials credentials_;
  std::string user_agent_;
};

}  // namespace cbe::kube
