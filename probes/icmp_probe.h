#pragma once

// ICMP echo probes (round trip and loss) and the path MTU search that uses the same sockets.
// An unprivileged ping socket is used where net.ipv4.ping_group_range allows it, a raw socket
// (CAP_NET_RAW) otherwise.

#include <chrono>
#include <cstdint>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/peer_result.h"

namespace cbe::probes {

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

struct PathMtuOptions {
  std::chrono::milliseconds timeout{1000};
  int max_steps = 12;  // Sizes tried per peer and round (each with two echoes).
  // Echoes are paced: up to 1500 bytes each, thousands sent at once would overflow the socket's
  // receive buffer with their replies (and the links), losing answers.
  int packets_per_second = 5000;
};

// For each peer: the largest packet (IP header included) that reaches the peer and comes back as
// an echo reply with don't-fragment set: first the protocol minimum (576 for IPv4, 1280 for IPv6,
// tried twice), then `interface_mtu[i]`, then a binary search between the two. Works when ICMP
// "fragmentation needed" is filtered on the path (a PMTU black hole), since only replies count.
std::vector<std::optional<int>> SearchPathMtu(const std::vector<net::IpAddress>& peers,
                                              const std::vector<int>& interface_mtu,
                                              const PathMtuOptions& options, const Clock& clock,
                                              std::vector<std::string>* reasons);

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

}  // namespace cbe::probes
