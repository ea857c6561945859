#pragma once

// The rounds of the daemon, one row each (blackbox_exporter's `Probers` map): the runner, `check`,
// the landing page and the self-metrics iterate this table, so no list of kinds is written out
// anywhere else. BIRD first (it finds the peers), then a row for each prober of probes/
// (probes::Probers(): a new probe kind is its file pair there and a row in
// probes/probe_table.cc, nothing here), then the intent client.

#include <chrono>
#include <functional>
#include <span>
#include <string_view>

#include "exporter/config/config.h"
#include "exporter/core/scheduler.h"
#include "exporter/core/snapshot.h"

namespace cbe {

class BirdRound;
class IntentRound;
class ProbeRounds;

// What a row runs: the BIRD round, the peer and clock probes, the intent client.
struct Rounds {
  BirdRound* bird = nullptr;
  ProbeRounds* probes = nullptr;
  IntentRound* intent = nullptr;
};

struct ProbeKind {
  std::string_view name;  // The `probe` label: bird, tcp, icmp, mtu, listener, clock, intent.
  std::function<bool(const Config&)> enabled;
  std::function<std::chrono::milliseconds(const Config&)> interval;
  // One round, published into the store as this kind's part of the snapshot.
  std::function<void(const Rounds&, SnapshotStore*)> run;
  // Removes this kind's part (a probe the reloaded config disabled).
  std::function<void(SnapshotStore*)> clear;
  // The self-metrics of the last round; null before the first or while disabled.
  std::function<const ProbeRun*(const Snapshot&)> last_run;
  // Finds the peers (BIRD): the others take their targets from its last round.
  bool discovers_peers;
  // Probes BIRD's peers: runs again at once when BIRD reports a peer for the first time.
  bool probes_peers;
  // The heap's free pages go back to the kernel after each round (ReleaseFreeMemory): rounds
  // every 30 s to 5 min (the probes', the intent client's) keep nothing resident in between
  // but the result they published. BIRD's round (every few seconds) reuses its buffers
  // instead.
  bool releases_memory;
  // BIRD's round runs kBatch (see ThreadPolicy); the probes time packets and clocks, and the
  // intent client is measured by nothing: kNormal.
  ThreadPolicy policy;
};

// BIRD first: the peer probes take their targets from BIRD's last round.
std::span<const ProbeKind> ProbeKinds();

}  // namespace cbe
