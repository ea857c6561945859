#include "exporter/core/runner.h"

#include <algorithm>
#include <functional>

#include "exporter/base/memory.h"

namespace cbe {

Runner::Runner(const Config& config, SnapshotStore* store, const Clock* clock,
               net::StreamConnector* connector, std::span<const ProbeKind> kinds)
    : config_(config),
      store_(store),
      clock_(clock),
      kinds_(kinds),
      bird_(config.bird, connector, clock),
      probes_(config, store, clock),
      intent_(config.intent, config.node_name, clock),
      diagnosis_options_(DiagnosisOptionsFor(config)) {
  store_->SetDeriver([this](Snapshot* s) {
    DiagnosisOptions options;
    {
      std::lock_guard lock(options_mu_);
      options = diagnosis_options_;
    }
    s->diagnosis = DeriveDiagnosis(*s, options, ToUnixSeconds(clock_->Now()), diagnosis_buffers_);
  });
  BuildTasks();
}

Runner::~Runner() {
  Stop();
  store_->SetDeriver(nullptr);
}

void Runner::RunKind(const ProbeKind& kind) {
  kind.run(Rounds{&bird_, &probes_, &intent_}, store_);
  if (kind.discovers_peers) {
    ProbeNewPeers();
  }
  if (kind.releases_memory) {
    ReleaseFreeMemory();
  }
}

bool Runner::SameNeighborsAsLastRound(const Snapshot& snapshot) {
  std::size_t i = 0;
  bool same = true;
  if (snapshot.bird) {
    for (const DaemonSnapshot& d : snapshot.bird->daemons) {
      for (const PeerSnapshot& p : d.peers) {
        if (i < last_neighbors_.size()) {
          if (last_neighbors_[i] != p.peer) {
            last_neighbors_[i] = p.peer.str();
            same = false;
          }
        } else {
          last_neighbors_.push_back(p.peer.str());
          same = false;
        }
        ++i;
      }
    }
  }
  if (i != last_neighbors_.size()) {
    last_neighbors_.resize(i);
    same = false;
  }
  return same;
}

void Runner::ProbeNewPeers() {
  const auto snapshot = store_->Get();
  // Most rounds name the same neighbours as the last one: then the probe targets (parsed,
  // merged with the static peers and sorted) are those of the last round too.
  if (SameNeighborsAsLastRound(*snapshot)) {
    return;
  }
  std::vector<net::IpAddress> peers =
      probes::Addresses(ProbeTargets(*snapshot, config_.static_peers));
  std::sort(peers.begin(), peers.end());
  const bool found =
      !std::includes(known_peers_.begin(), known_peers_.end(), peers.begin(), peers.end());
  known_peers_ = std::move(peers);  // Peers that went away are new again when they return.
  if (found) {
    for (PeriodicTask* task : peer_probe_tasks_) {
      task->RunSoon();
    }
  }
}

void Runner::BuildTasks() {
  tasks_.clear();
  peer_probe_tasks_.clear();
  for (const ProbeKind& kind : kinds_) {
    if (!kind.enabled(config_)) {
      continue;
    }
    tasks_.push_back(std::make_unique<PeriodicTask>(
        std::string(kind.name), kind.interval(config_), [this, &kind] { RunKind(kind); }, clock_,
        kind.policy));
    if (kind.probes_peers) {
      peer_probe_tasks_.push_back(tasks_.back().get());
    }
  }
}

void Runner::Start() {
  for (auto& t : tasks_) {
    t->Start();
  }
}

void Runner::Stop() {
  for (auto& t : tasks_) {
    t->Stop();
  }
}

bool Runner::StopBy(std::chrono::steady_clock::time_point deadline) {
  for (auto& t : tasks_) {
    t->RequestStop();
  }
  bool all = true;
  for (auto& t : tasks_) {
    all = t->WaitStopped(deadline) && all;
  }
  return all;
}

void Runner::Reconfigure(const Config& config) {
  Stop();
  config_ = config;
  bird_.Reconfigure(config.bird);
  last_neighbors_.clear();  // The static peers may have changed: work the targets out again.
  probes_.Reconfigure(config);
  intent_.Reconfigure(config.intent, config.node_name);
  {
    std::lock_guard lock(options_mu_);
    diagnosis_options_ = DiagnosisOptionsFor(config);
  }
  // Parts of probes that are now disabled vanish with their series.
  for (const ProbeKind& kind : kinds_) {
    if (!kind.enabled(config)) {
      kind.clear(store_);
    }
  }
  BuildTasks();
  Start();
}

}  // namespace cbe
