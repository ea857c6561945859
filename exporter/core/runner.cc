#include "exporter/core/runner.h"

#include <functional>

namespace cbe {

Runner::Runner(const Config& config, SnapshotStore* store, const Clock* clock,
               net::StreamConnector* connector)
    : config_(config),
      store_(store),
      clock_(clock),
      bird_(config.bird, connector, clock),
      probes_(config, store, clock),
      diagnosis_options_(DiagnosisOptionsFor(config)) {
  store_->SetDeriver([this](Snapshot* s) {
    DiagnosisOptions options;
    {
      std::lock_guard lock(options_mu_);
      options = diagnosis_options_;
    }
    auto d = std::make_shared<DiagnosisSnapshot>();
    d->peers = DiagnoseSnapshot(*s, options, ToUnixSeconds(clock_->Now()));
    s->diagnosis = std::move(d);
  });
  BuildTasks();
}

Runner::~Runner() {
  Stop();
  store_->SetDeriver(nullptr);
}

void Runner::BuildTasks() {
  tasks_.clear();
  const auto add = [&](bool enabled, const char* name, std::chrono::milliseconds interval,
                       std::function<void()> run) {
    if (enabled) {
      tasks_.push_back(std::make_unique<PeriodicTask>(name, interval, std::move(run)));
    }
  };
  const auto& p = config_.probes;
  add(true, "bird", config_.bird.interval,
      [this] { store_->Publish(&Snapshot::bird, bird_.Run()); });
  add(p.tcp.enabled, "tcp", p.tcp.interval,
      [this] { store_->Publish(&Snapshot::tcp, probes_.RunTcp()); });
  add(p.icmp.enabled, "icmp", p.icmp.interval,
      [this] { store_->Publish(&Snapshot::icmp, probes_.RunIcmp()); });
  add(p.mtu.enabled, "mtu", p.mtu.interval,
      [this] { store_->Publish(&Snapshot::mtu, probes_.RunMtu()); });
  add(p.listener.enabled, "listener", p.listener.interval,
      [this] { store_->Publish(&Snapshot::listener, probes_.RunListener()); });
  add(true, "clock", config_.clock.interval,
      [this] { store_->Publish(&Snapshot::clock, probes_.RunClock()); });
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
  probes_.Reconfigure(config);
  {
    std::lock_guard lock(options_mu_);
    diagnosis_options_ = DiagnosisOptionsFor(config);
  }
  // Parts of probes that are now disabled vanish with their series.
  const auto clear = [&](bool enabled, auto part) {
    if (!enabled) {
      store_->Clear(part);
    }
  };
  clear(config.probes.tcp.enabled, &Snapshot::tcp);
  clear(config.probes.icmp.enabled, &Snapshot::icmp);
  clear(config.probes.mtu.enabled, &Snapshot::mtu);
  clear(config.probes.listener.enabled, &Snapshot::listener);
  BuildTasks();
  Start();
}

}  // namespace cbe
