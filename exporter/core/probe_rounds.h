#pragma once

// One round of each peer probe: picks the peers (BIRD's neighbours from the latest snapshot and
// the static ones), runs the probe, logs changes once, and returns the part of the snapshot.
// Each Run* is called from its own task; they share nothing mutable.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/config/config.h"
#include "exporter/core/snapshot.h"
#include "probes/net/address.h"

namespace cbe {

struct ProbeTarget {
  net::IpAddress ip;
  bool established = false;  // Some BGP session to this address is Established.
};

// BIRD's BGP neighbours (scope suffixes like "%eth0" dropped) and the static peers, once each.
std::vector<ProbeTarget> ProbeTargets(const Snapshot& snapshot,
                                      const std::vector<StaticPeer>& static_peers);

class ProbeRounds {
 public:
  ProbeRounds(Config config, const SnapshotStore* store, const Clock* clock);

  std::shared_ptr<const TcpSnapshot> RunTcp();
  std::shared_ptr<const IcmpSnapshot> RunIcmp();
  std::shared_ptr<const MtuSnapshot> RunMtu();
  std::shared_ptr<const ListenerSnapshot> RunListener();
  std::shared_ptr<const ClockSnapshot> RunClock();

  // A reloaded config; call only while no Run* is running.
  void Reconfigure(Config config) { config_ = std::move(config); }

 private:
  std::vector<ProbeTarget> Targets() const;
  std::vector<net::IpAddress> TargetAddresses() const;  // Of Targets().
  // A session of BIRD's last round says "No listening socket".
  bool BirdHasNoListeningSocket() const;
  ProbeRun StartRun(const std::string& probe) const;
  void FinishRun(ProbeRun* run, std::chrono::steady_clock::time_point start, bool success) const;

  Config config_;
  const SnapshotStore* store_;
  const Clock* clock_;
  std::map<std::string, std::string> last_port_state_;  // Only RunTcp touches it.
  std::string last_tcp_error_;
  std::string last_icmp_error_;
  std::string last_listener_;
  std::string last_clock_;
};

}  // namespace cbe
