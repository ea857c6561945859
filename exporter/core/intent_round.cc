#include "exporter/core/intent_round.h"

#include "exporter/base/logging.h"
#include "exporter/intent/session_json.h"
#include "exporter/plugins/kube_plugin.h"

namespace cbe {

IntentRound::IntentRound(IntentConfig config, std::string node_name, const Clock* clock,
                         GetterFactory factory)
    : config_(std::move(config)),
      node_name_(std::move(node_name)),
      clock_(clock),
      factory_(std::move(factory)) {}

Result<std::unique_ptr<HttpGetter>> IntentRound::PluginGetter() {
  auto entry = KubePluginEntry(kNewHttpGetterSymbol);
  if (!entry) {
    return entry.error();
  }
  return std::unique_ptr<HttpGetter>(reinterpret_cast<NewHttpGetterEntry>(*entry)());
}

void IntentRound::Reconfigure(IntentConfig config, std::string node_name) {
  if (config.url != config_.url || node_name != node_name_) {
    sessions_.reset();  // Another service or node: the kept answer is not this one's.
    etag_.clear();
    last_success_ = 0;
  }
  config_ = std::move(config);
  node_name_ = std::move(node_name);
}

std::string IntentRound::Accept(const HttpGetResponse& response) {
  switch (response.status) {
    case 200: {
      std::string node;
      auto sessions = intent::ParseNodeSessionsJson(response.body, &node);
      if (!sessions) {
        return "the answer is not the sessions of a node: " + sessions.error().message;
      }
      if (node != node_name_) {
        return "the answer is for node \"" + node + "\", not \"" + node_name_ + "\"";
      }
      sessions_ = std::make_shared<const std::vector<intent::Session>>(std::move(*sessions));
      etag_ = response.etag;
      return "";
    }
    case 304:
      return sessions_ ? "" : "304 Not Modified without an answer kept";
    case 404:
      return "the intent service knows no Calico node \"" + node_name_ +
             "\" (node_name or NODE_NAME must be the Kubernetes node name)";
    case 503:
      return "the intent service has not read the whole cluster yet (503)";
    default:
      return "HTTP " + std::to_string(response.status);
  }
}

std::string IntentRound::Ask() {
  if (!getter_) {
    auto made = factory_();
    if (!made) {
      return made.error().message;
    }
    getter_ = std::move(*made);
  }
  HttpGetRequest request;
  request.url = config_.url + "/v1/nodes/" + node_name_ + "/sessions";
  request.ca_file = config_.ca_file;
  request.if_none_match = sessions_ ? etag_ : "";
  request.timeout = config_.timeout;
  const HttpGetResponse response = getter_->Get(request);
  if (!response.error.empty()) {
    return response.error;
  }
  return Accept(response);
}

std::shared_ptr<const IntentSnapshot> IntentRound::Run() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<IntentSnapshot>();
  snap->run.probe = "intent";
  const std::string error = Ask();
  if (error.empty()) {
    last_success_ = ToUnixSeconds(clock_->Now());
  }
  snap->sessions = sessions_;
  snap->up = error.empty();
  snap->error = error;
  snap->last_success_timestamp = last_success_;
  if (error != last_logged_) {
    if (error.empty()) {
      logging::Info("intent: sessions of this node",
                    {{"url", config_.url},
                     {"node", node_name_},
                     {"sessions", std::to_string(sessions_->size())}});
    } else {
      logging::Warn("intent: no answer, keeping the last one",
                    {{"url", config_.url},
                     {"node", node_name_},
                     {"err", error},
                     {"kept", sessions_ ? "yes" : "none"}});
    }
    last_logged_ = error;
  }
  snap->run.success = error.empty();
  snap->run.duration_seconds = std::chrono::duration<double>(clock_->Monotonic() - start).count();
  snap->run.last_run_timestamp = ToUnixSeconds(clock_->Now());
  return snap;
}

}  // namespace cbe
