#pragma once

// Interface and path MTU towards each peer, and Calico's tunnel devices against the underlay.
// The path MTU search sends echoes with don't-fragment set (probes/net/echo_socket).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/net/echo_socket.h"
#include "probes/peer_result.h"
#include "probes/probe.h"

namespace cbe::probes {

struct MtuProbeOptions {
  std::chrono::milliseconds timeout{1000};
  int max_steps = 12;
  int packets_per_second = 5000;
};

std::vector<MtuResult> RunMtuProbe(const std::vector<net::IpAddress>& peers,
                                   const MtuProbeOptions& options, const Clock& clock);

struct PathMtuOptions {
  std::chrono::milliseconds timeout{1000};
  int max_steps = 12;  // Sizes tried per peer and round (each with two echoes).
  // Echoes are paced: up to 1500 bytes each, thousands sent at once would overflow the socket's
  // receive buffer with their replies (and the links), losing answers.
  int packets_per_second = 5000;
};

// What the search found for one peer.
struct PathMtuOutcome {
  std::optional<int> path_mtu;
  std::string reason;
  bool failed = false;  // No echo socket for the peer's family, or it refused don't-fragment.
};

// For each peer: the largest packet (IP header included) that reaches the peer and comes back as
// an echo reply with don't-fragment set: first the protocol minimum (576 for IPv4, 1280 for IPv6,
// tried twice), then `interface_mtu[i]`, then a binary search between the two. Works when ICMP
// "fragmentation needed" is filtered on the path (a PMTU black hole), since only replies count.
// A peer whose echoes could not be sent as asked (e.g. the socket refused don't-fragment) has no
// path MTU, and its reason says why. `open` opens the echo sockets (injected in tests).
std::vector<PathMtuOutcome> SearchPathMtu(const std::vector<net::IpAddress>& peers,
                                          const std::vector<int>& interface_mtu,
                                          const PathMtuOptions& options, const Clock& clock,
                                          net::EchoSocketOpener open = net::OpenEchoSocket);

// The binary search of one peer, without IO.
class PathMtuSearch {
 public:
  PathMtuSearch(int minimum, int interface_mtu, int max_steps);
  // The next size to try, or 0 when done.
  int Next() const;
  void Result(bool got_reply);
  std::optional<int> path_mtu() const;
  const std::string& reason() const { return reason_; }

 private:
  int minimum_;
  int good_ = 0;  // Largest size that got through.
  int bad_;       // Smallest size that did not.
  int steps_left_;
  int next_;
  int minimum_failures_ = 0;
  std::string reason_;
};

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

// `probes.mtu` of the config file.
struct MtuSettings : ProbeSettings {
  static constexpr std::string_view kProbe = "mtu";
  MtuSettings() { interval = std::chrono::minutes(5); }
  std::chrono::milliseconds timeout{1000};
  int max_steps = 12;
};

// The MTU prober's part of the snapshot.
struct MtuSnapshot : ProbeResult {
  static constexpr std::string_view kProbe = "mtu";
  std::vector<MtuResult> results;
  std::vector<TunnelResult> tunnels;
};

// The row of the probe table: interface and path MTU towards every peer, and Calico's tunnel
// devices against the underlay.
const Prober& MtuProber();

}  // namespace cbe::probes
