#include "exporter/intent_serve/service.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
#include "exporter/base/memory.h"
#include "exporter/intent/session_json.h"

namespace cbe {
namespace {

using SteadyClock = std::chrono::steady_clock;

// An answer this large (a route reflector's: ~400 bytes per session) frees megabytes of
// temporaries; they go back to the kernel (ReleaseFreeMemory) instead of staying in the heap.
constexpr std::size_t kLargeAnswer = std::size_t{256} << 10;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

PageReply JsonError(int status, const std::string& message) {
  return {status, "application/json", nlohmann::json{{"error", message}}.dump() + "\n", ""};
}

std::string NotSyncedMessage(const kube::ReaderStats& stats) {
  if (stats.mode.empty()) {
    return "not synced yet: finding Calico's API (discovery)";
  }
  std::string waiting;
  for (const kube::ResourceStats& r : stats.resources) {
    if (!r.listed) {
      waiting += (waiting.empty() ? "" : ", ") + r.api_version + " " + r.resource;
    }
  }
  return "not synced yet: waiting for the first LIST of " + waiting;
}

}  // namespace

std::string EntityTag(std::string_view body) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    h = (h ^ c) * 0x100000001b3ULL;
  }
  char tag[24];
  std::snprintf(tag, sizeof(tag), "\"%016llx\"", static_cast<unsigned long long>(h));  // NOLINT
  return tag;
}

IntentService::IntentService(const Clock* clock, ViewSource view, StatsSource stats)
    : clock_(clock), view_(std::move(view)), stats_(std::move(stats)) {}

IntentService::~IntentService() { Stop(); }

void IntentService::Start() {
  thread_ = std::thread([this] { Loop(); });
  findings_thread_ = std::thread([this] { FindingsLoop(); });
}

void IntentService::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  for (std::thread* t : {&thread_, &findings_thread_}) {
    if (t->joinable()) {
      t->join();
    }
  }
}

void IntentService::Changed() {
  {
    std::lock_guard lock(loop_mu_);
    dirty_ = true;
  }
  loop_cv_.notify_all();
}

std::uint64_t IntentService::generation() const {
  const auto m = CurrentModel();
  return m ? m->generation : 0;
}

void IntentService::Loop() {
  std::unique_lock lock(loop_mu_);
  while (true) {
    loop_cv_.wait(lock, [this] { return dirty_ || stopping_; });
    if (stopping_) {
      return;
    }
    dirty_ = false;
    lock.unlock();
    Recompute();
    lock.lock();
  }
}

void IntentService::Recompute() {
  const auto start = SteadyClock::now();
  std::optional<kube::ClusterView> view = view_();
  if (!view) {
    return;  // not every resource listed yet: nothing is served
  }
  auto next = std::make_shared<Model>();
  for (const intent::Node& n : view->cluster.nodes) {
    next->nodes.insert(n.name);
  }
  next->model = std::make_unique<const intent::PeeringModel>(std::move(view->cluster));
  next->rejected = std::move(view->rejected);
  next->changed_unix = ToUnixSeconds(clock_->Now());
  next->seconds = SecondsSince(start);
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = model_ == nullptr;
    next->generation = (model_ ? model_->generation : 0) + 1;
    model_ = next;
  }
  {
    std::lock_guard lock(loop_mu_);  // orders this after the findings thread's check
  }
  loop_cv_.notify_all();  // the findings thread
  view.reset();
  ReleaseFreeMemory();  // the view's copy, and the model before this one once unused
  if (first) {
    logging::Info("serving the sessions of every node",
                  {{"nodes", std::to_string(next->nodes.size())},
                   {"model_ms", std::to_string(std::lround(next->seconds * 1000))}});
  }
}

void IntentService::FindingsLoop() {
  std::unique_lock lock(loop_mu_);
  while (true) {
    loop_cv_.wait(lock, [this] {
      const std::shared_ptr<const Model> m = CurrentModel();
      return stopping_ || (m && m->generation != findings_done_);
    });
    if (stopping_) {
      return;
    }
    const std::shared_ptr<const Model> m = CurrentModel();  // the latest: skips superseded ones
    findings_done_ = m->generation;
    lock.unlock();
    const auto start = SteadyClock::now();
    auto problems = std::make_shared<Problems>();
    problems->findings = intent::FindProblems(*m->model);
    problems->rejected = m->rejected;
    problems->seconds = SecondsSince(start);
    {
      std::lock_guard published(mu_);
      problems_ = std::move(problems);
    }
    ReleaseFreeMemory();
    lock.lock();
  }
}

std::shared_ptr<const IntentService::Model> IntentService::CurrentModel() const {
  std::lock_guard lock(mu_);
  return model_;
}

std::shared_ptr<const IntentService::Problems> IntentService::CurrentProblems() const {
  std::lock_guard lock(mu_);
  return problems_;
}

PageReply IntentService::NodeSessions(std::string_view node) const {
  const std::shared_ptr<const Model> m = CurrentModel();
  if (!m) {
    return JsonError(503, NotSyncedMessage(stats_()));
  }
  const std::string name(node);
  if (!m->nodes.contains(name)) {
    return JsonError(404, "no Calico node named \"" + name + "\"");
  }
  {
    std::lock_guard lock(cache_mu_);
    if (cache_generation_ != m->generation) {
      cache_.clear();
      cache_generation_ = m->generation;
    }
    if (const auto it = cache_.find(name); it != cache_.end()) {
      return {200, "application/json", it->second->body, it->second->etag};
    }
  }
  const intent::NodeSessions ns = m->model->SessionsFor(name);
  auto answer = std::make_shared<Answer>();
  answer->body = intent::NodeSessionsJson(name, ns.sessions);
  answer->etag = EntityTag(answer->body);
  if (answer->body.size() >= kLargeAnswer) {
    ReleaseFreeMemory();
  }
  {
    std::lock_guard lock(cache_mu_);
    if (cache_generation_ == m->generation) {
      cache_.emplace(name, answer);
    }
  }
  return {200, "application/json", answer->body, answer->etag};
}

PageReply IntentService::Findings() const {
  const std::shared_ptr<const Problems> p = CurrentProblems();
  if (!p) {
    return JsonError(503, NotSyncedMessage(stats_()));
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const intent::Finding& f : p->findings) {
    list.push_back(intent::FindingToJson(f));
  }
  for (const kube::RejectedObject& r : p->rejected) {
    list.push_back({{"kind", "invalid-object"}, {"object", r.object}, {"message", r.message}});
  }
  return {200, "application/json", list.dump(2) + "\n", ""};
}

std::string IntentService::Exposition() const {
  IntentServeStatus s;
  s.reader = stats_();
  if (const std::shared_ptr<const Model> m = CurrentModel()) {
    s.serving = true;
    s.nodes = m->nodes.size();
    s.last_change_unix = m->changed_unix;
    s.model_seconds = m->seconds;
  }
  if (const std::shared_ptr<const Problems> p = CurrentProblems()) {
    s.findings = p->findings;
    s.rejected = p->rejected;
    s.findings_seconds = p->seconds;
  }
  return RenderIntentServeExposition(s);
}

PageReply IntentService::Health() const {
  const std::shared_ptr<const Model> m = CurrentModel();
  return {200, "text/plain; charset=utf-8",
          m ? "ok: serving " + std::to_string(m->nodes.size()) + " nodes\n"
            : "ok: " + NotSyncedMessage(stats_()) + "\n",
          ""};
}

std::string IntentService::Summary() const {
  const kube::ReaderStats stats = stats_();
  const double now = ToUnixSeconds(clock_->Now());
  std::ostringstream out;
  out << "API: " << (stats.mode.empty() ? "discovery not done" : stats.mode) << "\n";
  for (const kube::ResourceStats& r : stats.resources) {
    out << r.api_version << " " << r.resource << ": " << r.objects << " objects, "
        << (r.watching ? "watching" : "not watching");
    if (r.last_sync_unix > 0) {
      out << ", current " << FormatAge(now - r.last_sync_unix) << " ago";
    }
    if (!r.last_error.empty()) {
      out << "; last error: " << r.last_error;
    }
    out << "\n";
  }
  const std::shared_ptr<const Model> m = CurrentModel();
  out << (m ? "serving " + std::to_string(m->nodes.size()) + " nodes, model " +
                  std::to_string(m->generation)
            : NotSyncedMessage(stats))
      << "\n";
  return out.str();
}

}  // namespace cbe
