#include "probes/tcp_syn_probe.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <random>

#include "exporter/base/duration.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

using std::chrono::steady_clock;

// A SYN-ACK, RST or ICMP error with the headers it quotes fits easily.
constexpr std::size_t kAnswerBufferSize = 2048;

double Seconds(steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One address family's sockets of a SYN round.
struct FamilySockets {
  net::Fd tcp;
  net::Fd icmp;
  net::Fd reservation;
  std::uint16_t local_port = 0;
  std::string error;  // Set when the family cannot be probed.
};

FamilySockets OpenFamily(int family, std::uint16_t remote_port) {
  FamilySockets s;
  const bool v6 = family == AF_INET6;
  auto reserved = net::ReserveTcpPort(family);
  if (!reserved) {
    s.error = "reserving a source port: " + reserved.error().message;
    return s;
  }
  s.reservation = std::move(reserved->first);
  s.local_port = reserved->second;
  auto tcp = net::OpenSocket(family, SOCK_RAW, IPPROTO_TCP);
  if (!tcp) {
    s.error = tcp.error().message;
    return s;
  }
  auto icmp = net::OpenSocket(
      family, SOCK_RAW, v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP));
  if (!icmp) {
    s.error = icmp.error().message;
    return s;
  }
  if (auto f = net::AttachFilter(tcp->get(), net::TcpAnswerFilter(v6, remote_port, s.local_port));
      !f) {
    s.error = f.error().message;
    return s;
  }
  if (auto f =
          net::AttachFilter(icmp->get(), net::TcpIcmpErrorFilter(v6, remote_port, s.local_port));
      !f) {
    s.error = f.error().message;
    return s;
  }
  net::Drain(tcp->get());
  net::Drain(icmp->get());
  s.tcp = std::move(*tcp);
  s.icmp = std::move(*icmp);
  return s;
}

}  // namespace

std::string_view PortStateName(PortState state) {
  switch (state) {
    case PortState::kOpen:
      return "open";
    case PortState::kClosed:
      return "closed";
    case PortState::kFiltered:
      return "filtered";
    case PortState::kUnreachable:
      return "unreachable";
    case PortState::kUnprobed:
      return "unprobed";
  }
  return "unprobed";
}

SynRound::SynRound(std::vector<net::IpAddress> peers, std::uint16_t remote_port)
    : remote_port_(remote_port) {
  probes_.reserve(peers.size());
  for (auto& p : peers) {
    Probe probe;
    probe.result.peer = p;
    probes_.push_back(std::move(probe));
  }
}

void SynRound::Sent(std::size_t i, std::uint16_t local_port, std::uint32_t seq,
                    steady_clock::time_point at) {
  Probe& p = probes_[i];
  p.sent = true;
  p.local_port = local_port;
  p.seq = seq;
  p.sent_at = at;
  ++outstanding_;
}

void SynRound::Failed(std::size_t i, PortState state, std::string reason) {
  Probe& p = probes_[i];
  if (p.sent && !p.done) {
    --outstanding_;
  }
  p.done = true;
  p.result.state = state;
  p.result.reason = std::move(reason);
}

SynRound::Probe* SynRound::Find(const net::IpAddress& peer, std::uint16_t local_port) {
  for (Probe& p : probes_) {
    if (p.sent && !p.done && p.local_port == local_port && p.result.peer == peer) {
      return &p;
    }
  }
  return nullptr;
}

void SynRound::Answer(Probe* p, PortState state, std::string reason, steady_clock::time_point at) {
  p->done = true;
  p->result.state = state;
  p->result.reason = std::move(reason);
  p->result.rtt_seconds = Seconds(at - p->sent_at);
  --outstanding_;
}

bool SynRound::OnTcp(const net::IpAddress& from, const net::TcpSegment& segment,
                     steady_clock::time_point at) {
  if (segment.src_port != remote_port_) {
    return false;
  }
  Probe* p = Find(from, segment.dst_port);
  if (p == nullptr || (segment.flags & net::kTcpAck) == 0 || segment.ack != p->seq + 1) {
    return false;  // Not an answer to our SYN (a stray or forged segment).
  }
  if ((segment.flags & net::kTcpRst) != 0) {
    Answer(p, PortState::kClosed, "RST", at);
    return true;
  }
  if ((segment.flags & net::kTcpSyn) != 0) {
    Answer(p, PortState::kOpen, "SYN-ACK", at);
    return true;
  }
  return false;
}

bool SynRound::OnIcmpError(const net::IcmpError& error, steady_clock::time_point at) {
  if (error.inner_protocol != IPPROTO_TCP || error.inner_dst_port != remote_port_) {
    return false;
  }
  Probe* p = Find(error.inner_dst, error.inner_src_port);
  if (p == nullptr) {
    return false;
  }
  const PortState state = net::ClassifyUnreachable(error) == net::UnreachableMeaning::kFiltered
                              ? PortState::kFiltered
                              : PortState::kUnreachable;
  Answer(p, state, net::DescribeIcmpError(error), at);
  return true;
}

std::vector<PortResult> SynRound::Finish(std::chrono::milliseconds timeout) {
  std::vector<PortResult> out;
  out.reserve(probes_.size());
  for (Probe& p : probes_) {
    if (!p.done) {
      if (p.sent) {
        p.result.state = PortState::kFiltered;
        p.result.reason = "no answer within " + FormatTimeout(timeout);
      } else {
        p.result.state = PortState::kUnprobed;
        p.result.reason = "not sent";
      }
    }
    out.push_back(p.result);
  }
  return out;
}

std::vector<PortResult> RunSynProbe(const std::vector<net::IpAddress>& peers,
                                    const TcpProbeOptions& options, const Clock& clock) {
  SynRound round(peers, options.port);
  std::map<int, FamilySockets> families;
  for (const auto& p : peers) {
    if (!families.contains(p.family())) {
      families.emplace(p.family(), OpenFamily(p.family(), options.port));
    }
  }
  std::mt19937 rng(std::random_device{}());
  std::vector<int> fds;
  for (auto& [family, s] : families) {
    if (s.error.empty()) {
      fds.push_back(s.tcp.get());
      fds.push_back(s.icmp.get());
    }
  }

  const auto interval = net::PacketInterval(options.packets_per_second);
  auto next_send = clock.Monotonic();
  std::size_t to_send = 0;
  steady_clock::time_point last_sent = clock.Monotonic();
  std::uint8_t buf[kAnswerBufferSize];

  const auto receive = [&](int fd) {
    net::ReceiveDatagrams(
        fd, buf, net::kMaxDatagramsPerWake, [&](net::Bytes data, const sockaddr_storage& from) {
          const auto now = clock.Monotonic();
          const bool v6 = from.ss_family == AF_INET6;
          const auto sender =
              net::IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from));
          const FamilySockets& s = families.at(v6 ? AF_INET6 : AF_INET);
          if (fd == s.tcp.get()) {
            if (auto seg = net::ParseTcpSegment(data, !v6); seg && sender) {
              round.OnTcp(seg->src.value_or(*sender), *seg, now);
            }
          } else if (auto err = net::ParseIcmpError(data, v6)) {
            if (v6 && sender) {
              err->reporter = sender;
            }
            round.OnIcmpError(*err, now);
          }
        });
  };

  while (true) {
    const auto now = clock.Monotonic();
    // Send what the rate limit allows.
    while (to_send < round.size() && next_send <= now) {
      const std::size_t i = to_send++;
      const net::IpAddress& peer = round.peer(i);
      FamilySockets& s = families.at(peer.family());
      if (!s.error.empty()) {
        round.Failed(i, PortState::kUnprobed, s.error);
        continue;
      }
      auto src = net::SourceAddressFor(peer);
      if (!src) {
        round.Failed(i, PortState::kUnreachable, src.error().message);
        continue;
      }
      const std::uint32_t seq = rng();
      const auto syn = net::BuildTcpSyn(*src, peer, s.local_port, options.port, seq);
      sockaddr_storage to{};
      const socklen_t to_len = peer.ToSockaddr(0, &to);
      if (::sendto(s.tcp.get(), syn.data(), syn.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   to_len) < 0) {
        const int err = errno;
        round.Failed(i,
                     err == ENETUNREACH || err == EHOSTUNREACH ? PortState::kUnreachable
                                                               : PortState::kUnprobed,
                     net::ErrnoText("sendto", err));
        continue;
      }
      last_sent = clock.Monotonic();
      round.Sent(i, s.local_port, seq, last_sent);
      next_send += interval;
    }
    const bool all_sent = to_send >= round.size();
    if (all_sent && (round.AllAnswered() || now >= last_sent + options.timeout)) {
      break;
    }
    const auto wake = all_sent ? last_sent + options.timeout : std::max(next_send, now);
    for (int fd : net::WaitReadable(fds, wake, clock)) {
      receive(fd);
    }
  }
  return round.Finish(options.timeout);
}

std::vector<PortResult> RunConnectProbe(const std::vector<net::IpAddress>& peers,
                                        const TcpProbeOptions& options, const Clock& clock) {
  struct Pending {
    net::Fd fd;
    steady_clock::time_point started;
  };
  std::vector<PortResult> out(peers.size());
  std::vector<Pending> pending(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
    auto fd = net::OpenSocket(peers[i].family(), SOCK_STREAM, 0);
    if (!fd) {
      out[i].reason = fd.error().message;
      continue;
    }
    sockaddr_storage to{};
    const socklen_t len = peers[i].ToSockaddr(options.port, &to);
    pending[i].started = clock.Monotonic();
    if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&to), len) != 0 && errno != EINPROGRESS) {
      const int err = errno;
      out[i].state = err == ECONNREFUSED ? PortState::kClosed : PortState::kUnreachable;
      out[i].reason = net::ErrnoText("connect", err);
      continue;
    }
    pending[i].fd = std::move(*fd);
  }
  const auto deadline = clock.Monotonic() + options.timeout;
  while (true) {
    std::vector<pollfd> pfds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (pending[i].fd.valid()) {
        pfds.push_back({pending[i].fd.get(), POLLOUT, 0});
        index.push_back(i);
      }
    }
    if (pfds.empty()) {
      break;
    }
    if (clock.Monotonic() >= deadline) {
      break;
    }
    if (clock.Poll(pfds.data(), pfds.size(), deadline) <= 0) {
      continue;
    }
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) {
        continue;
      }
      const std::size_t i = index[k];
      int err = 0;
      socklen_t err_len = sizeof(err);
      ::getsockopt(pfds[k].fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
      out[i].rtt_seconds = Seconds(clock.Monotonic() - pending[i].started);
      if (err == 0) {
        out[i].state = PortState::kOpen;
        out[i].reason = "connected";
      } else {
        out[i].state = err == ECONNREFUSED ? PortState::kClosed : PortState::kUnreachable;
        out[i].reason = net::ErrnoText("connect", err);
      }
      pending[i].fd = net::Fd();
    }
  }
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (pending[i].fd.valid()) {
      out[i].state = PortState::kFiltered;
      out[i].reason = "no answer within " + FormatTimeout(options.timeout);
    }
  }
  return out;
}

}  // namespace cbe::probes
