#pragma once

// The background rounds of the daemon: BIRD and every enabled probe, each on its own task,
// publishing into the snapshot store. Reconfigure() applies a reloaded config (SIGHUP) without
// losing what the rounds remember (state-change counters, seen sockets).

#include <memory>
#include <mutex>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/config/config.h"
#include "exporter/core/bird_round.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/probe_rounds.h"
#include "exporter/core/scheduler.h"
#include "exporter/core/snapshot.h"
#include "probes/net/stream.h"

namespace cbe {

class Runner {
 public:
  Runner(const Config& config, SnapshotStore* store, const Clock* clock,
         net::StreamConnector* connector);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void Start();
  void Stop();
  // Stops every task at once and waits until `deadline`. False: a round is still stuck in one
  // of its own deadlines; the caller should exit the process rather than wait.
  bool StopBy(std::chrono::steady_clock::time_point deadline);
  // Stops the tasks, applies `config`, starts them again.
  void Reconfigure(const Config& config);

 private:
  void BuildTasks();

  Config config_;
  SnapshotStore* store_;
  const Clock* clock_;
  BirdRound bird_;
  ProbeRounds probes_;
  std::mutex options_mu_;
  DiagnosisOptions diagnosis_options_;
  std::vector<std::unique_ptr<PeriodicTask>> tasks_;
};

}  // namespace cbe
