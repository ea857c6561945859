#include "probes/net/echo_socket.h"

#include <netinet/in.h>

#include <cerrno>
#include <random>

namespace cbe::net {
namespace {

constexpr std::size_t kIpv4HeaderSize = 20;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kIcmpEchoHeaderSize = 8;
// The payload of an echo asked smaller than its headers.
constexpr std::size_t kMinEchoPayload = 16;

}  // namespace

EchoSocket OpenEchoSocket(int family) {
  EchoSocket s;
  const bool v6 = family == AF_INET6;
  const int proto = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  if (auto ping = OpenSocket(family, SOCK_DGRAM, proto)) {
    // A ping socket's identifier is its local "port", chosen by the kernel.
    auto id = LocalPort(ping->get());
    if (!id) {
      s.error = "ping socket: " + id.error().message;
      return s;
    }
    s.fd = std::move(*ping);
    s.id = *id;
    return s;
  }
  auto raw = OpenSocket(family, SOCK_RAW, proto);
  if (!raw) {
    s.error = "no ping socket (net.ipv4.ping_group_range) and " + raw.error().message;
    return s;
  }
  s.raw = true;
  s.id = static_cast<std::uint16_t>(std::random_device{}());
  if (auto f = AttachFilter(raw->get(), EchoReplyFilter(v6, s.id)); !f) {
    s.error = f.error().message;
    return s;
  }
  Drain(raw->get());
  s.fd = std::move(*raw);
  return s;
}

EchoLoop::EchoLoop(const Clock& clock, bool dont_fragment, EchoSocketOpener open)
    : clock_(clock),
      dont_fragment_(dont_fragment),
      open_(std::move(open)),
      next_seq_(static_cast<std::uint16_t>(std::random_device{}())) {}

const EchoSocket& EchoLoop::Socket(int family) {
  auto it = sockets_.find(family);
  if (it == sockets_.end()) {
    it = sockets_.emplace(family, open_(family)).first;
    EchoSocket& s = it->second;
    if (s.error.empty() && dont_fragment_) {
      // Without don't-fragment the path MTU search would measure a fragmented path and report
      // a wrong size as good: the socket is not used.
      if (auto df = SetDontFragment(s.fd.get(), family == AF_INET6); !df) {
        s.error = "cannot set don't-fragment: " + df.error().message;
      }
    }
  }
  return it->second;
}

Result<std::uint16_t> EchoLoop::Send(const IpAddress& peer, std::size_t peer_index,
                                     std::size_t packet_size) {
  const EchoSocket& s = Socket(peer.family());
  if (!s.error.empty()) {
    return Error{s.error};
  }
  const bool v6 = peer.is_v6();
  const std::size_t headers = (v6 ? kIpv6HeaderSize : kIpv4HeaderSize) + kIcmpEchoHeaderSize;
  const std::size_t payload = packet_size > headers ? packet_size - headers : kMinEchoPayload;
  const std::uint16_t seq = next_seq_++;
  const auto pkt = BuildIcmpEcho(v6, s.id, seq, payload);
  sockaddr_storage to{};
  const socklen_t len = peer.ToSockaddr(0, &to);
  if (::sendto(s.fd.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), len) < 0) {
    return Error{ErrnoText("sendto", errno)};
  }
  sent_[seq] = AwaitedEcho{peer, peer_index, clock_.Monotonic()};
  return seq;
}

std::optional<std::uint16_t> MatchEchoReply(Bytes data, const std::optional<IpAddress>& from,
                                            const EchoSocket& s, bool v6,
                                            const std::map<std::uint16_t, AwaitedEcho>& awaited) {
  // A raw IPv4 socket reads the IP header too.
  const auto reply = ParseIcmpEchoReply(data, v6, s.raw && !v6);
  if (!reply || (s.raw && reply->id != s.id)) {
    return std::nullopt;
  }
  const auto it = awaited.find(reply->seq);
  if (it == awaited.end() || !from || *from != it->second.to) {
    return std::nullopt;
  }
  return reply->seq;
}

std::optional<std::uint16_t> EchoLoop::Match(Bytes data, const sockaddr_storage& from,
                                             const std::optional<IpAddress>& sender) const {
  const bool v6 = from.ss_family == AF_INET6;
  const auto socket = sockets_.find(v6 ? AF_INET6 : AF_INET);
  if (socket == sockets_.end()) {
    return std::nullopt;
  }
  return MatchEchoReply(data, sender, socket->second, v6, sent_);
}

}  // namespace cbe::net
