#pragma once

// The probe kinds, one row each (blackbox_exporter's `Probers` map): the runner, `check`, the
// landing page and the self-metrics iterate this table, so no list of kinds is written out
// anywhere else. Adding a kind: its file pair in probes/, its Run* in ProbeRounds, its part of
// the snapshot, one row here, and its families in exporter/metrics/.

#include <chrono>
#include <span>
#include <string_view>

#include "exporter/config/config.h"
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
  std::string_view name;  // The `probe` label: bird, tcp, icmp, mtu, listener, clock.
  bool (*enabled)(const Config&);
  std::chrono::milliseconds (*interval)(const Config&);
  // One round, published into the store as this kind's part of the snapshot.
  void (*run)(const Rounds&, SnapshotStore*);
  // Removes this kind's part (a probe the reloaded config disabled).
  void (*clear)(SnapshotStore*);
  // The self-metrics of the last round; null before the first or while disabled.
  const ProbeRun* (*last_run)(const Snapshot&);
  // Finds the peers (BIRD): the others take their targets from its last round.
  bool discovers_peers;
  // Probes BIRD's peers: runs again at once when BIRD reports a peer for the first time.
  bool probes_peers;
};

// BIRD first: the peer probes take their targets from BIRD's last round.
std::span<const ProbeKind> ProbeKinds();

}  // namespace cbe
