#pragma once

// What the probes found for one peer address. Plain data: no prometheus-cpp here. Text in 16
// bytes (base/short_string.h), optional times in 8 (base/compact_optional.h): a probe's results
// for 1000 peers are held twice while a round replaces them.

#include <optional>
#include <string>
#include <string_view>

#include "exporter/base/compact_optional.h"
#include "exporter/base/short_string.h"
#include "probes/net/address.h"

namespace cbe::probes {

enum class PortState { kOpen, kClosed, kFiltered, kUnreachable, kUnprobed };
std::string_view PortStateName(PortState state);

struct PortResult {
  net::IpAddress peer;
  PortState state = PortState::kUnprobed;
  OptionalDouble rtt_seconds;  // SYN to answer.
  ShortString reason;  // "SYN-ACK", "RST", "no answer within 2s", "icmp type 3 code 13 ...".
};

struct IcmpResult {
  net::IpAddress peer;
  bool probed = false;
  int sent = 0;
  int received = 0;
  OptionalDouble rtt_seconds;  // Mean round trip of the replies.
  ShortString reason;          // Why not probed, or the last error.
  double loss_ratio() const { return sent == 0 ? 0 : 1.0 - static_cast<double>(received) / sent; }
};

struct MtuResult {
  net::IpAddress peer;
  ShortString interface;  // Of the route to the peer.
  std::optional<int> interface_mtu;
  std::optional<int> path_mtu;  // Largest packet that got through with don't-fragment.
  ShortString reason;
  // The probe could not measure this peer for a reason of its own (netlink, no echo socket for
  // the family, a socket that refused don't-fragment), not of the path.
  bool failed = false;
};

}  // namespace cbe::probes
