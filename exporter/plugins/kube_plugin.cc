// The kube plugin's entry points (exporter/plugins/kube_plugin.h): `intent serve`, and an HTTP
// getter on the reader's libcurl client.

#include "exporter/plugins/kube_plugin.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "exporter/base/version.h"
#include "exporter/intent_serve/serve_command.h"
#include "exporter/kube/http.h"

namespace cbe {
namespace {

// "http://host:10180/v1/x?y" -> {"http://host:10180", "/v1/x?y"}; nullopt without a scheme.
std::optional<std::pair<std::string, std::string>> SplitUrl(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    return std::nullopt;
  }
  const std::size_t path = url.find('/', scheme + 3);
  if (path == std::string::npos) {
    return std::make_pair(url, std::string("/"));
  }
  return std::make_pair(url.substr(0, path), url.substr(path));
}

class CurlGetter final : public HttpGetter {
 public:
  HttpGetResponse Get(const HttpGetRequest& request) override {
    HttpGetResponse out;
    const auto split = SplitUrl(request.url);
    if (!split) {
      out.error = "not an http:// or https:// URL: " + request.url;
      return out;
    }
    kube::Credentials credentials;
    credentials.server = split->first;
    credentials.ca_file = request.ca_file;
    kube::CurlClientFactory factory(credentials, std::string("calico-bgp-exporter/") + kVersion);
    const std::atomic<bool> never_stop{false};
    std::unique_ptr<kube::HttpClient> client = factory.Create(&never_stop);
    kube::HttpRequest r;
    r.path_and_query = split->second;
    r.response_timeout = request.timeout;
    r.total_timeout = request.timeout;
    if (!request.if_none_match.empty()) {
      r.headers.push_back("If-None-Match: " + request.if_none_match);
    }
    bool too_big = false;
    r.on_body = [&](std::string_view piece) {
      if (out.body.size() + piece.size() > request.max_bytes) {
        too_big = true;
        return false;
      }
      out.body.append(piece);
      return true;
    };
    const kube::HttpResponse response = client->Get(r);
    out.status = response.status;
    out.etag = response.etag;
    if (too_big) {
      out.error = "answer larger than " + std::to_string(request.max_bytes) + " bytes";
      out.body.clear();
    } else if (response.error) {
      out.error = response.message;
    }
    return out;
  }
};

}  // namespace
}  // namespace cbe

extern "C" __attribute__((visibility("default"))) int cbe_plugin_intent_serve(
    const std::vector<std::string>* args) {
  return cbe::RunIntentServe(*args);
}

extern "C" __attribute__((visibility("default"))) cbe::HttpGetter* cbe_plugin_new_http_getter() {
  return new cbe::CurlGetter();
}
