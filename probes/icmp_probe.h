#pragma once

// ICMP echo probes: round trip and loss. The echo sockets (probes/net/echo_socket, shared with
// the path MTU search of mtu_probe) are ping sockets where net.ipv4.ping_group_range allows
// them, raw sockets (CAP_NET_RAW) otherwise.

#include <chrono>
#include <cstdint>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/peer_result.h"
#include "probes/probe.h"

namespace cbe::probes {

// `probes.icmp` of the config file.
struct IcmpSettings : ProbeSettings {
  static constexpr std::string_view kProbe = "icmp";
  int count = 3;
  std::chrono::milliseconds timeout{1000};
};

// The ICMP prober's part of the snapshot.
struct IcmpSnapshot : ProbeResult {
  static constexpr std::string_view kProbe = "icmp";
  std::vector<IcmpResult> results;
};

// The row of the probe table: echoes to every peer, calico_bgp_peer_icmp_{rtt_seconds,loss_ratio}.
const Prober& IcmpProber();

struct IcmpProbeOptions {
  int count = 3;
  // Per peer, from its first echo: the peer's echoes go out round robin with the other peers'
  // (one per peer at a time, paced) and must be answered by then. A round therefore takes the
  // pacing of one echo per peer plus the timeout, whatever the count; an echo that could not
  // be sent before its peer's deadline is not sent (and not counted).
  std::chrono::milliseconds timeout{1000};
  int packets_per_second = 5000;
};

std::vector<IcmpResult> RunIcmpProbe(const std::vector<net::IpAddress>& peers,
                                     const IcmpProbeOptions& options, const Clock& clock);

}  // namespace cbe::probes
