#pragma once

// One round of each prober (probes/probe.h): the context it runs in (BIRD's neighbours from the
// latest snapshot and the static peers, the clock, the shared settings), and its self-metrics. Each
// Run is called from its own task; they share nothing mutable.

#include <memory>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/config/config.h"
#include "exporter/core/snapshot.h"
#include "probes/net/address.h"
#include "probes/probe.h"

namespace cbe {

using probes::ProbeTarget;

// BIRD's BGP neighbours (scope suffixes like "%eth0" dropped) and the static peers, once each.
std::vector<ProbeTarget> ProbeTargets(const Snapshot& snapshot,
                                      const std::vector<StaticPeer>& static_peers);

class ProbeRounds : private probes::ProbeContext {
 public:
  ProbeRounds(Config config, const SnapshotStore* store, const Clock* clock);

  // One round of probes::Probers()[prober], with its self-metrics.
  std::shared_ptr<const probes::ProbeResult> Run(std::size_t prober);
  // The same, typed: e.g. Run<probes::MtuSnapshot>().
  template <typename T>
  std::shared_ptr<const T> Run() {
    return std::static_pointer_cast<const T>(Run(probes::ProberIndex(T::kProbe)));
  }

  // A reloaded config; call only while no Run* is running.
  void Reconfigure(Config config) { config_ = std::move(config); }

 private:
  // probes::ProbeContext
  const Clock& clock() const override { return *clock_; }
  int packets_per_second() const override { return config_.probes.packets_per_second; }
  std::uint16_t bgp_port() const override;
  std::vector<ProbeTarget> Targets() const override;
  bool BirdHasNoListeningSocket() const override;

  Config config_;
  const SnapshotStore* store_;
  const Clock* clock_;
  std::vector<std::unique_ptr<probes::ProbeRound>> rounds_;  // One per prober.
};

}  // namespace cbe
