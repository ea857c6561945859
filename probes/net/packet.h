#pragma once

// Pure encoders and decoders of the packets the probes send and receive, and the BPF socket
// filters that keep raw sockets from copying unrelated traffic. No IO.

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "probes/net/address.h"

namespace cbe::net {

using Bytes = std::span<const std::uint8_t>;

// Big-endian (network order) fields; callers check the bounds.
inline std::uint16_t ReadBe16(Bytes d, std::size_t off) {
  return static_cast<std::uint16_t>(d[off] << 8 | d[off + 1]);
}
inline std::uint32_t ReadBe32(Bytes d, std::size_t off) {
  return static_cast<std::uint32_t>(d[off]) << 24 | static_cast<std::uint32_t>(d[off + 1]) << 16 |
         static_cast<std::uint32_t>(d[off + 2]) << 8 | d[off + 3];
}
inline void WriteBe16(std::vector<std::uint8_t>* d, std::size_t off, std::uint16_t v) {
  (*d)[off] = static_cast<std::uint8_t>(v >> 8);
  (*d)[off + 1] = static_cast<std::uint8_t>(v);
}
inline void WriteBe32(std::vector<std::uint8_t>* d, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    (*d)[off + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

// RFC 1071 one's complement sum, folded and complemented.
std::uint16_t InternetChecksum(Bytes data, std::uint32_t sum = 0);
// The pseudo-header sum of TCP/UDP/ICMPv6 checksums.
std::uint32_t PseudoHeaderSum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                              std::uint32_t length);

inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpAck = 0x10;

// A TCP SYN with an MSS option, checksummed for src -> dst (no IP header: the kernel adds it).
std::vector<std::uint8_t> BuildTcpSyn(const IpAddress& src, const IpAddress& dst,
                                      std::uint16_t src_port, std::uint16_t dst_port,
                                      std::uint32_t seq);

struct TcpSegment {
  std::optional<IpAddress> src;  // From the IPv4 header; IPv6 raw sockets carry no IP header.
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
};

// A TCP segment as a raw socket delivers it: IPv4 with its IP header, IPv6 without.
std::optional<TcpSegment> ParseTcpSegment(Bytes data, bool with_ipv4_header);

// An ICMP or ICMPv6 error about a packet we sent.
struct IcmpError {
  bool v6 = false;
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::optional<IpAddress> reporter;  // Who sent the error (IPv4 header; IPv6: from recvfrom).
  IpAddress inner_dst;                // Destination of the packet the error is about.
  std::uint8_t inner_protocol = 0;
  std::uint16_t inner_src_port = 0;  // TCP/UDP only.
  std::uint16_t inner_dst_port = 0;
  std::uint16_t inner_echo_id = 0;  // ICMP echo only.
  std::uint16_t inner_echo_seq = 0;
  std::uint32_t mtu = 0;  // "Fragmentation needed" / "Packet too big".
};

// IPv4: with the outer IP header. IPv6: starting at the ICMPv6 header.
std::optional<IcmpError> ParseIcmpError(Bytes data, bool v6);

// What an ICMP destination-unreachable error says about a TCP port.
enum class UnreachableMeaning { kFiltered, kUnreachable };
UnreachableMeaning ClassifyUnreachable(const IcmpError& e);
// "icmp type 3 code 13 (communication administratively prohibited)".
std::string DescribeIcmpError(const IcmpError& e);

// ICMP(v6) echo request with `payload_size` bytes after the 8-byte header. IPv4 is
// checksummed; ICMPv6 checksums are filled in by the kernel.
std::vector<std::uint8_t> BuildIcmpEcho(bool v6, std::uint16_t id, std::uint16_t seq,
                                        std::size_t payload_size);

struct IcmpEchoReply {
  std::optional<IpAddress> src;
  std::uint16_t id = 0;
  std::uint16_t seq = 0;
  std::size_t size = 0;  // ICMP message size (header + payload).
};

// An echo reply: IPv4 with its IP header (raw socket) or without (ping socket), IPv6 without.
std::optional<IcmpEchoReply> ParseIcmpEchoReply(Bytes data, bool v6, bool with_ipv4_header);

// BPF programs for raw sockets.
// TCP segments from `remote_port` to `local_port` (IPv4 raw sockets see the IP header).
std::vector<sock_filter> TcpAnswerFilter(bool v6, std::uint16_t remote_port,
                                         std::uint16_t local_port);
// ICMP destination-unreachable errors about TCP from `local_port` to `remote_port`.
std::vector<sock_filter> TcpIcmpErrorFilter(bool v6, std::uint16_t remote_port,
                                            std::uint16_t local_port);
// ICMP echo replies with identifier `id` (raw sockets).
std::vector<sock_filter> EchoReplyFilter(bool v6, std::uint16_t id);

// Runs a classic BPF program on a packet, as the kernel would (for tests). Returns the number
// of bytes accepted (0 = dropped).
std::uint32_t RunBpf(const std::vector<sock_filter>& program, Bytes packet);

}  // namespace cbe::net
