#pragma once

// An SNTP client (RFC 4330; client mode of RFC 5905): a pure encoder of the request, a pure
// decoder and checker of the reply, and one IO function that asks several servers at once.
//
// Sign convention: offset = the server's clock minus this node's clock (positive when the
// server is ahead), as node_exporter's node_ntp_offset_seconds:
//   offset = ((T2 - T1) + (T3 - T4)) / 2,  delay = (T4 - T1) - (T3 - T2)
// with T1 = request sent (this node), T2 = request received (server), T3 = reply sent (server),
// T4 = reply received (this node).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/net/packet.h"

namespace cbe::probes {

inline constexpr std::size_t kNtpPacketSize = 48;
inline constexpr std::uint16_t kNtpPort = 123;

// A 64-bit NTP timestamp: seconds since 1900-01-01 modulo 2^32 (era 1 begins in 2036) in the
// upper half, a binary fraction of a second in the lower half.
using NtpTimestamp = std::uint64_t;

NtpTimestamp ToNtpTimestamp(std::chrono::system_clock::time_point t);
// a - b in seconds; right across an era boundary while |a - b| < 68 years.
double NtpDifferenceSeconds(NtpTimestamp a, NtpTimestamp b);

// A client request (version 4, mode 3) whose transmit timestamp is `transmit`; the server
// copies it into the reply's origin timestamp.
std::array<std::uint8_t, kNtpPacketSize> EncodeNtpRequest(NtpTimestamp transmit);

// The fixed 48-byte header of an NTP packet (extension fields and MACs are ignored).
struct NtpPacket {
  int leap = 0;  // 0 none, 1 insert, 2 delete, 3 unsynchronised.
  int version = 0;
  int mode = 0;  // 3 client, 4 server, ...
  int stratum = 0;
  int poll = 0;       // log2 seconds.
  int precision = 0;  // log2 seconds.
  double root_delay_seconds = 0;
  double root_dispersion_seconds = 0;
  std::uint32_t reference_id = 0;
  NtpTimestamp reference = 0;
  NtpTimestamp origin = 0;
  NtpTimestamp receive = 0;
  NtpTimestamp transmit = 0;
};

// Structural decoding only: an error for a packet shorter than 48 bytes or of version 0.
Result<NtpPacket> DecodeNtpPacket(net::Bytes data);

// The reference ID as people read it: four ASCII letters for stratum 0 (a kiss code) and 1
// (a reference clock, e.g. "GPS"), a dotted quad otherwise (an IPv4 address, or for IPv6 the
// first four bytes of an MD5 hash of the address).
std::string ReferenceIdText(std::uint32_t reference_id, int stratum);

struct NtpServerResult {
  std::string server;   // As configured: "10.0.0.53", "ntp.internal:123".
  std::string address;  // What was queried: "10.0.0.53:123", "[fd00::53]:123"; "" if unresolved.
  bool up = false;      // A reply arrived and passed every check.
  std::string reason;   // Why not up: timeout, refused, kiss-o'-death, unsynchronised, ...
  // From any well-formed server reply, also one that failed a check.
  std::optional<int> stratum;
  std::optional<int> leap;
  std::string reference_id;  // ReferenceIdText.
  std::string kiss_code;     // Stratum 0: "RATE", "DENY", "RSTR", ...
  std::optional<double> root_delay_seconds;
  std::optional<double> root_dispersion_seconds;
  // Only when up.
  std::optional<double> offset_seconds;  // Server minus this node.
  std::optional<double> rtt_seconds;     // Round-trip delay without the server's own time.
};

// Decodes and checks one reply to the request sent at `t1` (its transmit timestamp) that was
// received at `t4`, as RFC 4330 section 5 and RFC 5905 section 8 ask: a server reply (mode 4)
// whose origin timestamp echoes our transmit timestamp, not a kiss-o'-death (stratum 0 with an
// ASCII kiss code), not unsynchronised (leap 3, or stratum 0 or above 15), with non-zero
// receive and transmit timestamps. Fills `server` and `address` from the arguments; never
// throws, whatever the bytes.
NtpServerResult EvaluateNtpReply(net::Bytes reply, NtpTimestamp t1, NtpTimestamp t4);

struct NtpQueryOptions {
  std::chrono::milliseconds timeout{1000};  // For the whole query, name resolution included.
};

// Queries every server concurrently (one connected UDP socket each, one request each) and waits
// for the replies until the timeout. A server is "host", "host:port", "[v6]:port" or a bare
// IPv6 literal; the port defaults to 123. IP literals are used as they are; other names are
// resolved with getaddrinfo(3) (the system resolver: /etc/hosts, then DNS), each on its own
// detached thread, within the same deadline; a name still unresolved then is reported as such.
// T1 comes from clock.Now() just before sending; T4 is T1 plus the monotonic time that passed
// (a wall-clock step during the query cannot distort the offset).
std::vector<NtpServerResult> QueryNtpServers(const std::vector<std::string>& servers,
                                             const NtpQueryOptions& options, const Clock& clock);

}  // namespace cbe::probes
