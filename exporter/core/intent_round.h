#pragma once

// The node exporter's intent client: asks `intent serve` (one replica per cluster) for the
// sessions Calico renders for this node, GET <intent.url>/v1/nodes/<node_name>/sessions, with the
// ETag of the answer it keeps (a 304 costs the service nothing). The last good answer is kept
// while the service is unreachable or not synced: a node whose BGP is broken may not reach it,
// and that is when the answer matters. The node holds no API credentials.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/http_get.h"
#include "exporter/base/result.h"
#include "exporter/config/config.h"
#include "exporter/core/snapshot.h"

namespace cbe {

class IntentRound {
 public:
  // Makes the HTTP getter on first use (production: libcurl, from the kube plugin).
  using GetterFactory = std::function<Result<std::unique_ptr<HttpGetter>>()>;

  IntentRound(IntentConfig config, std::string node_name, const Clock* clock,
              GetterFactory factory = PluginGetter);

  // One request; the snapshot has the answer kept (new, unchanged or the last good one).
  std::shared_ptr<const IntentSnapshot> Run();
  void Reconfigure(IntentConfig config, std::string node_name);

  // The kube plugin's libcurl getter.
  static Result<std::unique_ptr<HttpGetter>> PluginGetter();

 private:
  // The request's outcome: an error message, "" when the answer is the one kept now.
  std::string Ask();
  std::string Accept(const HttpGetResponse& response);

  IntentConfig config_;
  std::string node_name_;
  const Clock* clock_;
  GetterFactory factory_;
  std::unique_ptr<HttpGetter> getter_;
  std::shared_ptr<const std::vector<intent::Session>> sessions_;  // The last good answer.
  std::string etag_;
  double last_success_ = 0;
  std::string last_logged_;  // The outcome last logged: a change is logged once.
};

}  // namespace cbe
