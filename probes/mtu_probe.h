#pragma once

// Interface and path MTU towards each peer, and Calico's tunnel devices against the underlay.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/icmp_probe.h"
#include "probes/peer_result.h"

namespace cbe::probes {

struct MtuProbeOptions {
  std::chrono::milliseconds timeout{1000};
  int max_steps = 12;
  int packets_per_second = 5000;
};

std::vector<MtuResult> RunMtuProbe(const std::vector<net::IpAddress>& peers,
                                   const MtuProbeOptions& options, const Clock& clock);

struct TunnelDevice {
  std::string interface;
  std::string kind;  // ipip, vxlan, vxlan-v6, wireguard, wireguard-v6.
  int overhead = 0;  // Bytes the encapsulation adds.
  bool v6_underlay = false;
};

// Calico's tunnel devices: tunl0 (IPIP, 20), vxlan.calico (50), vxlan-v6.calico (70),
// wireguard.cali (60) and wg-v6.cali (80).
const std::vector<TunnelDevice>& CalicoTunnels();

struct TunnelResult {
  std::string interface;
  std::string kind;
  int mtu = 0;
  std::optional<int> underlay_mtu;
  std::optional<bool> fits;  // mtu + overhead <= underlay MTU; unknown without an underlay.
};

// `underlay_v4`/`underlay_v6`: the MTU of the interfaces that carry BGP traffic (the smallest
// among the peers' routes), if known. `mtu_of` reads an interface's MTU (injected for tests).
std::vector<TunnelResult> CheckTunnels(
    std::optional<int> underlay_v4, std::optional<int> underlay_v6,
    const std::function<std::optional<int>(const std::string&)>& mtu_of);

}  // namespace cbe::probes
