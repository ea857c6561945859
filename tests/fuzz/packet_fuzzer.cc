// The packet decoders (TCP answers, ICMP errors, ICMP echo replies) and the BPF socket filters
// that select those packets in the kernel. Beyond "no crash": every filter is a program the
// kernel would accept, and no filter drops a packet that the decoder would hand to the probe
// (the probe would then wait for an answer that the kernel threw away).
//
// Input: 1 byte of flags, 2 + 2 bytes of ports/echo id, then the packet.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "probes/net/packet.h"
#include "tests/fuzz/fuzz_check.h"

namespace net = cbe::net;

namespace {

constexpr std::uint8_t kProtoTcp = 6;

// What the kernel's sk_chk_filter() insists on, for the instructions these programs use.
void CheckProgram(const std::vector<sock_filter>& p) {
  FUZZ_CHECK(!p.empty() && p.size() <= BPF_MAXINSNS);
  FUZZ_CHECK(BPF_CLASS(p.back().code) == BPF_RET);
  for (std::size_t pc = 0; pc < p.size(); ++pc) {
    if (BPF_CLASS(p[pc].code) == BPF_JMP) {
      FUZZ_CHECK(pc + 1 + p[pc].jt < p.size());
      FUZZ_CHECK(pc + 1 + p[pc].jf < p.size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) {
    return 0;
  }
  const bool v6 = (data[0] & 1) != 0;
  const bool with_ipv4_header = (data[0] & 2) != 0;
  const auto port_a = static_cast<std::uint16_t>(data[1] << 8 | data[2]);
  const auto port_b = static_cast<std::uint16_t>(data[3] << 8 | data[4]);
  // The probes never use port 0 (nor echo id 0 here): the decoders leave 0 in a field that a
  // truncated packet does not carry, which must not count as a match.
  if (port_a == 0 || port_b == 0) {
    return 0;
  }
  // A copy of exactly the packet's bytes, so ASan sees any read past its end.
  const std::vector<std::uint8_t> bytes(data + 5, data + size);
  const net::Bytes packet(bytes.data(), bytes.size());

  // TCP answers: remote_port = port_a, local_port = port_b.
  const auto tcp_filter = net::TcpAnswerFilter(v6, port_a, port_b);
  CheckProgram(tcp_filter);
  const std::uint32_t tcp_accepted = net::RunBpf(tcp_filter, packet);
  // IPv4 raw sockets deliver the IP header, IPv6 raw sockets do not.
  if (const auto seg = net::ParseTcpSegment(packet, !v6)) {
    if (seg->src_port == port_a && seg->dst_port == port_b) {
      FUZZ_CHECK(tcp_accepted != 0);
    }
  }
  (void)net::ParseTcpSegment(packet, with_ipv4_header);

  // ICMP errors about our TCP SYN from local port port_b to remote port port_a.
  const auto icmp_filter = net::TcpIcmpErrorFilter(v6, port_a, port_b);
  CheckProgram(icmp_filter);
  const std::uint32_t icmp_accepted = net::RunBpf(icmp_filter, packet);
  if (const auto err = net::ParseIcmpError(packet, v6)) {
    (void)net::ClassifyUnreachable(*err);
    FUZZ_CHECK(!net::DescribeIcmpError(*err).empty());
    const bool unreachable = v6 ? err->type == 1 : err->type == 3;
    if (unreachable && err->inner_protocol == kProtoTcp && err->inner_src_port == port_b &&
        err->inner_dst_port == port_a) {
      FUZZ_CHECK(icmp_accepted != 0);
    }
  }

  // Echo replies with identifier port_a.
  const auto echo_filter = net::EchoReplyFilter(v6, port_a);
  CheckProgram(echo_filter);
  const std::uint32_t echo_accepted = net::RunBpf(echo_filter, packet);
  if (const auto reply = net::ParseIcmpEchoReply(packet, v6, /*with_ipv4_header=*/!v6)) {
    FUZZ_CHECK(reply->size <= bytes.size());
    if (reply->id == port_a) {
      FUZZ_CHECK(echo_accepted != 0);
    }
  }
  (void)net::ParseIcmpEchoReply(packet, v6, with_ipv4_header);
  return 0;
}
