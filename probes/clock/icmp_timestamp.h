#pragma once

// Each peer's clock through ICMP timestamp requests (RFC 792, types 13 and 14), which Linux
// answers by default. A timestamp is milliseconds since midnight UTC; a sender whose clock
// cannot give that sets the high-order bit ("non-standard"). With T1 = request sent and
// T4 = reply received (this node) and T2 = request received, T3 = reply sent (the peer):
//   offset = ((T2 - T1) + (T3 - T4)) / 2   (the peer's clock minus this node's)
//   rtt    = (T4 - T1) - (T3 - T2)
// each difference taken modulo one day into [-12 h, +12 h), so midnight UTC between the
// timestamps costs nothing. ICMPv6 has no timestamp message: IPv6 peers are not probed.

#include <linux/filter.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/compact_optional.h"
#include "exporter/base/result.h"
#include "exporter/base/short_string.h"
#include "probes/net/address.h"
#include "probes/net/packet.h"

namespace cbe::probes {

inline constexpr std::int64_t kMsPerDay = 86'400'000;
inline constexpr std::uint32_t kNonStandardTimestampBit = 0x80000000;
inline constexpr std::size_t kIcmpTimestampSize = 20;

// Milliseconds since midnight UTC of `t`, the fraction kept.
double MsSinceMidnightUtc(std::chrono::system_clock::time_point t);
// a - b in milliseconds, wrapped into [-12 h, +12 h).
double WrapDayDifferenceMs(double a, double b);

// A timestamp request (type 13), checksummed, with receive and transmit timestamps zero.
std::vector<std::uint8_t> BuildIcmpTimestampRequest(std::uint16_t id, std::uint16_t seq,
                                                    std::uint32_t originate_ms);

struct IcmpTimestampReply {
  std::optional<net::IpAddress> src;  // From the IPv4 header, when there is one.
  std::uint16_t id = 0;
  std::uint16_t seq = 0;
  std::uint32_t originate = 0;  // Our T1, echoed.
  std::uint32_t receive = 0;    // T2, the peer's clock.
  std::uint32_t transmit = 0;   // T3, the peer's clock.
};

// A timestamp reply (type 14) as an IPv4 raw socket delivers it (`with_ipv4_header`) or
// starting at the ICMP header. Errors: truncated, another ICMP type, a bad checksum.
Result<IcmpTimestampReply> ParseIcmpTimestampReply(net::Bytes data, bool with_ipv4_header);

// BPF for an IPv4 raw ICMP socket: timestamp replies with identifier `id` only.
std::vector<sock_filter> TimestampReplyFilter(std::uint16_t id);

struct ClockSample {
  double offset_seconds = 0;  // The peer's clock minus this node's.
  double rtt_seconds = 0;
};

// One exchange: `t1_ms` and `t4_ms` are this node's exact send and receive times (ms since
// midnight UTC, fraction kept). The peer's T2 and T3 are whole milliseconds, truncated as
// Linux does, so the middle of each millisecond (+0.5 ms) is taken. Errors for a non-standard
// timestamp (high bit set) or one beyond a day.
Result<ClockSample> ComputeTimestampOffset(const IcmpTimestampReply& reply, double t1_ms,
                                           double t4_ms);

struct PeerClockOptions {
  std::chrono::milliseconds timeout{1000};
  int count = 3;  // Requests per peer; the reply with the shortest round trip counts.
  int packets_per_second = 5000;
};

struct PeerClockResult {
  net::IpAddress peer;
  bool probed = false;            // False: not asked at all (IPv6, no raw socket).
  OptionalDouble offset_seconds;  // The peer's clock minus this node's.
  OptionalDouble rtt_seconds;     // Of the sample used.
  int sent = 0;
  int received = 0;
  ShortString reason;  // Why not probed or no offset; "" when all went well (16 bytes, as
                       // probes/peer_result.h's).
};

// Asks all peers concurrently from one raw socket (CAP_NET_RAW; without it every IPv4 peer is
// unprobed with the reason), `count` requests each, and waits for replies until `timeout`
// after the last request. T1 comes from clock.Now() just before sending, T4 is T1 plus the
// monotonic time that passed.
std::vector<PeerClockResult> RunPeerClockProbe(const std::vector<net::IpAddress>& peers,
                                               const PeerClockOptions& options, const Clock& clock);

}  // namespace cbe::probes
