#pragma once

// The background rounds of the daemon: one periodic task per enabled row of the probe table
// (BIRD and every probe), publishing into the snapshot store. A peer that BIRD reports for the
// first time is probed at once, not at the next interval. Reconfigure() applies a reloaded
// config (SIGHUP) without losing what the rounds remember (state-change counters, seen sockets).

#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/config/config.h"
#include "exporter/core/bird_round.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/intent_round.h"
#include "exporter/core/probe_rounds.h"
#include "exporter/core/probe_table.h"
#include "exporter/core/scheduler.h"
#include "exporter/core/snapshot.h"
#include "probes/net/stream.h"

namespace cbe {

class Runner {
 public:
  // `kinds`: the probe table (tests pass their own rows).
  Runner(const Config& config, SnapshotStore* store, const Clock* clock,
         net::StreamConnector* connector, std::span<const ProbeKind> kinds = ProbeKinds());
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
  void RunKind(const ProbeKind& kind);
  // After a BIRD round: runs the peer probes at once if BIRD named a peer not seen before.
  void ProbeNewPeers();
  // Whether BIRD's last round named the same neighbours, in the same order, as the round before;
  // remembers them for the next call.
  bool SameNeighborsAsLastRound(const Snapshot& snapshot);

  Config config_;
  SnapshotStore* store_;
  const Clock* clock_;
  std::span<const ProbeKind> kinds_;
  BirdRound bird_;
  ProbeRounds probes_;
  IntentRound intent_;
  std::mutex options_mu_;
  DiagnosisOptions diagnosis_options_;
  // The diagnoses' rows, from one derivation to a later one (the deriver runs under the
  // store's lock, one at a time). One spare: the rows published and the spare the next
  // derivation fills. A second spare would only be the rows a scrape still rendered while two
  // publications passed (each probe round publishes too), kept resident on every node for that
  // rare overlap (144 KB at 1000 sessions; issue 19); such rows are freed instead.
  std::shared_ptr<VectorRecycler<PeerDiagnosis>> diagnosis_buffers_ =
      std::make_shared<VectorRecycler<PeerDiagnosis>>(1);
  // Of BIRD's last round, sorted; only the BIRD task touches it.
  std::vector<net::IpAddress> known_peers_;
  // The neighbour addresses of BIRD's last round as BIRD wrote them, in order.
  std::vector<std::string> last_neighbors_;
  std::vector<std::unique_ptr<PeriodicTask>> tasks_;
  std::vector<PeriodicTask*> peer_probe_tasks_;
};

}  // namespace cbe
