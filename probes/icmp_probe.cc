#include "probes/icmp_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <optional>
#include <random>

#include "probes/net/packet.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

using std::chrono::steady_clock;

// An echo socket of one family: a ping socket where allowed, else raw with a BPF filter.
struct EchoSocket {
  net::Fd fd;
  bool raw = false;
  std::uint16_t id = 0;
  std::string error;
};

EchoSocket OpenEcho(int family) {
  EchoSocket s;
  const bool v6 = family == AF_INET6;
  const int proto = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  if (auto ping = net::OpenSocket(family, SOCK_DGRAM, proto)) {
    s.fd = std::move(*ping);
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    s.id = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return s;
  }
  auto raw = net::OpenSocket(family, SOCK_RAW, proto);
  if (!raw) {
    s.error = "no ping socket (net.ipv4.ping_group_range) and " + raw.error().message;
    return s;
  }
  s.raw = true;
  s.id = static_cast<std::uint16_t>(std::random_device{}());
  if (auto f = net::AttachFilter(raw->get(), net::EchoReplyFilter(v6, s.id)); !f) {
    s.error = f.error().message;
    return s;
  }
  net::Drain(raw->get());
  s.fd = std::move(*raw);
  return s;
}

void SetDontFragment(const EchoSocket& s, bool v6) {
  const int probe = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
  ::setsockopt(s.fd.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
               &probe, sizeof(probe));
}

struct Sent {
  std::size_t peer;
  steady_clock::time_point at;
  bool answered = false;
};

// Sends echoes and collects replies for all peers of a round; `on_reply(peer, seq, rtt)`.
class EchoLoop {
 public:
  explicit EchoLoop(const Clock& clock) : clock_(clock) {}

  EchoSocket* Socket(int family, bool dont_fragment) {
    auto it = sockets_.find(family);
    if (it == sockets_.end()) {
      it = sockets_.emplace(family, OpenEcho(family)).first;
      if (it->second.error.empty() && dont_fragment) {
        SetDontFragment(it->second, family == AF_INET6);
      }
    }
    return &it->second;
  }

  // Returns the sequence number used, or an error.
  Result<std::uint16_t> Send(const net::IpAddress& peer, std::size_t peer_index,
                             std::size_t packet_size) {
    EchoSocket* s = Socket(peer.family(), dont_fragment_);
    if (!s->error.empty()) {
      return Error{s->error};
    }
    const bool v6 = peer.is_v6();
    const std::size_t headers = (v6 ? 40 : 20) + 8;
    const std::size_t payload = packet_size > headers ? packet_size - headers : 16;
    const std::uint16_t seq = next_seq_++;
    const auto pkt = net::BuildIcmpEcho(v6, s->id, seq, payload);
    sockaddr_storage to{};
    const socklen_t len = peer.ToSockaddr(0, &to);
    if (::sendto(s->fd.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), len) <
        0) {
      return Error{net::ErrnoText("sendto", errno)};
    }
    sent_[seq] = Sent{peer_index, clock_.Monotonic()};
    return seq;
  }

  // Waits for replies until `until`; calls on_reply(peer_index, seq, rtt_seconds).
  template <typename F>
  void Receive(steady_clock::time_point until, F on_reply) {
    std::vector<int> fds;
    for (auto& [family, s] : sockets_) {
      if (s.error.empty()) {
        fds.push_back(s.fd.get());
      }
    }
    if (fds.empty()) {
      return;
    }
    char buf[9000];
    for (int fd : net::WaitReadable(fds, until, clock_)) {
      for (int n = 0; n < 256; ++n) {
        sockaddr_storage from{};
        socklen_t from_len = sizeof(from);
        const ssize_t len = ::recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
                                       reinterpret_cast<sockaddr*>(&from), &from_len);
        if (len < 0) {
          break;
        }
        const bool v6 = from.ss_family == AF_INET6;
        const EchoSocket& s = sockets_.at(v6 ? AF_INET6 : AF_INET);
        auto reply = net::ParseIcmpEchoReply(
            net::Bytes(reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(len)),
            v6, s.raw && !v6);
        if (!reply || (s.raw && reply->id != s.id)) {
          continue;
        }
        auto it = sent_.find(reply->seq);
        const auto sender = net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from));
        if (it == sent_.end() || it->second.answered) {
          continue;
        }
        it->second.answered = true;
        on_reply(it->second.peer, reply->seq,
                 std::chrono::duration<double>(clock_.Monotonic() - it->second.at).count(), sender);
      }
    }
  }

  void set_dont_fragment(bool on) { dont_fragment_ = on; }

 private:
  const Clock& clock_;
  std::map<int, EchoSocket> sockets_;
  std::map<std::uint16_t, Sent> sent_;
  std::uint16_t next_seq_ = static_cast<std::uint16_t>(std::random_device{}());
  bool dont_fragment_ = false;
};

}  // namespace

std::vector<IcmpResult> RunIcmpProbe(const std::vector<net::IpAddress>& peers,
                                     const IcmpProbeOptions& options, const Clock& clock) {
  std::vector<IcmpResult> out(peers.size());
  std::vector<double> rtt_sum(peers.size(), 0);
  // Each peer's deadline: its first echo plus the timeout (none yet: not sent).
  std::vector<std::optional<steady_clock::time_point>> deadline(peers.size());
  std::vector<int> unsent(peers.size(), 0);  // Echoes skipped: too late for the deadline.
  EchoLoop loop(clock);
  const auto interval = net::PacketInterval(options.packets_per_second);
  auto next_send = clock.Monotonic();
  auto round_end = next_send;  // The latest deadline so far.
  std::size_t total = peers.size() * static_cast<std::size_t>(std::max(0, options.count));
  std::size_t k = 0;
  std::size_t outstanding = 0;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
  }
  const auto on_reply = [&](std::size_t i, std::uint16_t, double rtt,
                            const std::optional<net::IpAddress>& from) {
    if (from && *from != peers[i]) {
      return;  // A reply from someone else with our sequence number.
    }
    --outstanding;
    if (deadline[i] && clock.Monotonic() > *deadline[i]) {
      return;  // Past the peer's deadline: lost, as if it had come later still.
    }
    ++out[i].received;
    rtt_sum[i] += rtt;
  };
  while (true) {
    const auto now = clock.Monotonic();
    while (k < total && next_send <= now) {
      const std::size_t i = k % peers.size();  // Round robin: one echo per peer at a time.
      ++k;
      if (const EchoSocket* sock = loop.Socket(peers[i].family(), false); !sock->error.empty()) {
        out[i].reason = sock->error;  // Not probed at all: no socket.
        continue;
      }
      if (deadline[i] && now >= *deadline[i]) {
        ++unsent[i];  // Its answer could not count any more.
        continue;
      }
      out[i].probed = true;
      ++out[i].sent;
      if (!deadline[i]) {
        deadline[i] = clock.Monotonic() + options.timeout;
        round_end = std::max(round_end, *deadline[i]);
      }
      auto seq = loop.Send(peers[i], i, 64);
      if (!seq) {
        out[i].reason = seq.error().message;  // E.g. no route: an echo lost for sure.
        continue;
      }
      ++outstanding;
      next_send += interval;
    }
    if (k >= total && (outstanding == 0 || now >= round_end)) {
      break;
    }
    loop.Receive(k >= total ? round_end : std::min(std::max(next_send, now), round_end), on_reply);
  }
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (out[i].received > 0) {
      out[i].rtt_seconds = rtt_sum[i] / out[i].received;
    }
    if (out[i].received < out[i].sent && out[i].reason.empty()) {
      out[i].reason = std::to_string(out[i].sent - out[i].received) + " of " +
                      std::to_string(out[i].sent) + " echoes unanswered";
    }
    if (unsent[i] > 0) {
      out[i].reason += std::string(out[i].reason.empty() ? "" : "; ") + std::to_string(unsent[i]) +
                       " echoes not sent: the round robin over all peers came back after the "
                       "timeout (raise probes.packets_per_second or probes.icmp.timeout)";
    }
  }
  return out;
}

PathMtuSearch::PathMtuSearch(int minimum, int interface_mtu, int max_steps)
    : minimum_(minimum), bad_(interface_mtu + 1), steps_left_(max_steps), next_(minimum) {
  if (interface_mtu < minimum) {
    next_ = 0;
    reason_ = "interface MTU below the protocol minimum";
  }
}

int PathMtuSearch::Next() const { return steps_left_ > 0 ? next_ : 0; }

void PathMtuSearch::Result(bool got_reply) {
  const int tried = next_;
  --steps_left_;
  if (got_reply) {
    good_ = tried;
  } else if (tried != minimum_) {
    bad_ = tried;
  }
  if (good_ == 0) {
    // The minimum first: it proves the peer answers at all, and warms up neighbour discovery
    // so that no larger probe is lost to it. It gets a second chance.
    if (++minimum_failures_ >= 2) {
      next_ = 0;
      reason_ = "no echo reply even at the minimum size";
    }
    return;
  }
  if (bad_ - good_ <= 1) {
    next_ = 0;
    return;
  }
  // Then the interface MTU, the common answer, then halves.
  next_ = tried == minimum_ ? bad_ - 1 : good_ + (bad_ - good_) / 2;
  if (steps_left_ == 0) {
    reason_ =
        "search bounded: between " + std::to_string(good_) + " and " + std::to_string(bad_ - 1);
  }
}

std::optional<int> PathMtuSearch::path_mtu() const {
  if (good_ == 0) {
    return std::nullopt;
  }
  return good_;
}

std::vector<std::optional<int>> SearchPathMtu(const std::vector<net::IpAddress>& peers,
                                              const std::vector<int>& interface_mtu,
                                              const PathMtuOptions& options, const Clock& clock,
                                              std::vector<std::string>* reasons) {
  struct State {
    PathMtuSearch search;
    std::vector<std::uint16_t> seqs;  // Outstanding echoes of the current step.
    bool replied = false;
    steady_clock::time_point deadline;
    bool active = false;
    std::string error;
  };
  EchoLoop loop(clock);
  loop.set_dont_fragment(true);
  std::vector<State> st;
  st.reserve(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const int minimum = peers[i].is_v6() ? 1280 : 576;
    st.push_back(State{
        PathMtuSearch(minimum, interface_mtu[i], options.max_steps), {}, false, {}, false, ""});
  }
  constexpr int kEchoesPerStep = 2;
  const auto interval = net::PacketInterval(options.packets_per_second);
  // Peers whose next step waits for its turn to be sent, in order.
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (st[i].search.Next() > 0) {
      ready.push_back(i);
    }
  }
  auto next_send = clock.Monotonic();
  std::size_t active = 0;
  while (true) {
    auto now = clock.Monotonic();
    // Finished steps: a reply, or the deadline passed. The search decides the next size.
    for (std::size_t i = 0; i < peers.size(); ++i) {
      State& s = st[i];
      if (s.active && (s.replied || now >= s.deadline)) {
        s.search.Result(s.replied);
        s.active = false;
        --active;
        if (s.search.Next() > 0) {
          ready.push_back(i);
        }
      }
    }
    // Send the waiting steps at the paced rate.
    while (!ready.empty() && next_send <= now) {
      const std::size_t i = ready.front();
      ready.pop_front();
      State& s = st[i];
      const int size = s.search.Next();
      s.replied = false;
      s.seqs.clear();
      for (int e = 0; e < kEchoesPerStep; ++e) {
        next_send += interval;
        auto seq = loop.Send(peers[i], i, static_cast<std::size_t>(size));
        if (!seq) {
          if (seq.error().message.find("Message too long") != std::string::npos) {
            break;  // Larger than the local route allows: a failed step.
          }
          s.error = seq.error().message;
          break;
        }
        s.seqs.push_back(*seq);
      }
      if (!s.error.empty()) {
        continue;
      }
      now = clock.Monotonic();
      s.deadline = s.seqs.empty() ? now : now + options.timeout;
      s.active = true;
      ++active;
    }
    if (active == 0 && ready.empty()) {
      break;
    }
    steady_clock::time_point wake = now + options.timeout;
    for (const State& s : st) {
      if (s.active) {
        wake = std::min(wake, s.deadline);
      }
    }
    if (!ready.empty()) {
      wake = std::min(wake, std::max(next_send, now));
    }
    loop.Receive(wake, [&](std::size_t i, std::uint16_t seq, double,
                           const std::optional<net::IpAddress>& from) {
      if (from && *from != peers[i]) {
        return;
      }
      for (std::uint16_t s : st[i].seqs) {
        if (s == seq) {
          st[i].replied = true;
        }
      }
    });
  }
  std::vector<std::optional<int>> out;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out.push_back(st[i].search.path_mtu());
    if (reasons != nullptr) {
      reasons->push_back(st[i].error.empty() ? st[i].search.reason() : st[i].error);
    }
  }
  return out;
}

}  // namespace cbe::probes
