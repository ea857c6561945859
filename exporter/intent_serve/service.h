#pragma once

// The engine of `intent serve`: whenever the reader's view changes, the peering model is built
// again from the complete view (the engine never sees a half-synced one) and published. The
// cluster findings are computed from the latest published model on a thread of their own, so a
// change never waits for the findings of the one before (at 5,000 nodes they take ~5 times as
// long as the model). Answers per node are computed from the published model on
// demand and kept until the next model, each with an ETag that is a hash of its bytes, so a node
// whose sessions did not change keeps its ETag across models. Until the first complete view
// every answer is 503; after it, the last model stays served whatever happens to the API.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/intent/findings.h"
#include "exporter/intent/sessions.h"
#include "exporter/kube/reader.h"
#include "exporter/metrics/intent_serve_exposition.h"
#include "exporter/web/intent_pages.h"

namespace cbe {

// A strong ETag of `body`: FNV-1a 64 as 16 hex digits, quoted. The same bytes give the same tag
// in every process (a restarted or second replica answers 304 to what the first one sent).
std::string EntityTag(std::string_view body);

class IntentService final : public IntentBackend {
 public:
  using ViewSource = std::function<std::optional<kube::ClusterView>()>;
  using StatsSource = std::function<kube::ReaderStats()>;

  IntentService(const Clock* clock, ViewSource view, StatsSource stats);
  ~IntentService() override;
  IntentService(const IntentService&) = delete;
  IntentService& operator=(const IntentService&) = delete;

  void Start();
  void Stop();
  // The reader's view changed: recompute soon (changes that arrive meanwhile are taken
  // together). Never blocks.
  void Changed();
  // Models published so far (tests, the bench).
  std::uint64_t generation() const;

  // IntentBackend.
  PageReply NodeSessions(std::string_view node) const override;
  PageReply Findings() const override;
  std::string Exposition() const override;
  PageReply Health() const override;
  std::string Summary() const override;

 private:
  struct Model {
    std::uint64_t generation = 0;
    std::unique_ptr<const intent::PeeringModel> model;
    std::vector<kube::RejectedObject> rejected;
    std::unordered_set<std::string> nodes;
    double changed_unix = 0;
    double seconds = 0;
  };
  struct Problems {
    std::vector<intent::Finding> findings;
    std::vector<kube::RejectedObject> rejected;
    double seconds = 0;
  };
  struct Answer {
    std::string body;
    std::string etag;
  };

  void Loop();
  void Recompute();
  void FindingsLoop();
  std::shared_ptr<const Model> CurrentModel() const;
  std::shared_ptr<const Problems> CurrentProblems() const;

  const Clock* clock_;
  ViewSource view_;
  StatsSource stats_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool dirty_ = false;
  bool stopping_ = false;
  std::uint64_t findings_done_ = 0;  // the generation the published findings are of
  std::thread thread_;
  std::thread findings_thread_;

  mutable std::mutex mu_;  // guards model_ and problems_
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Problems> problems_;

  mutable std::mutex cache_mu_;  // guards the answers of cache_generation_'s model
  mutable std::uint64_t cache_generation_ = 0;
  mutable std::unordered_map<std::string, std::shared_ptr<const Answer>> cache_;
};

}  // namespace cbe
