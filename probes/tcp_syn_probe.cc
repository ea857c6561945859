#include "probes/tcp_syn_probe.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <random>

#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
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
    out.push_back(std::move(p.result));
  }
  return out;
}

std::vector<const PortResult*> PortStateMemory::Update(const std::vector<PortResult>& ports) {
  ++round_;
  std::vector<const PortResult*> changed;
  for (const PortResult& r : ports) {
    auto [it, inserted] = last_.try_emplace(r.peer, Last{r.state, round_});
    if (inserted || it->second.state != r.state) {
      changed.push_back(&r);
    }
    it->second = Last{r.state, round_};
  }
  std::erase_if(last_, [this](const auto& kv) { return kv.second.round != round_; });
  return changed;
}

namespace {

// One SYN round on the wire: the raw sockets of each family, SYNs sent at the configured rate,
// answers read as they come, until every peer answered or the timeout after the last SYN.
class SynSender {
 public:
  SynSender(const std::vector<net::IpAddress>& peers, const TcpProbeOptions& options,
            const Clock& clock)
      : round_(peers, options.port),
        options_(options),
        clock_(clock),
        interval_(net::PacketInterval(options.packets_per_second)),
        rng_(std::random_device{}()) {
    for (const auto& p : peers) {
      if (!families_.contains(p.family())) {
        families_.emplace(p.family(), OpenFamily(p.family(), options.port));
      }
    }
    for (auto& [family, sockets] : families_) {
      if (sockets.error.empty()) {
        fds_.push_back(sockets.tcp.get());
        fds_.push_back(sockets.icmp.get());
      }
    }
  }

  std::vector<PortResult> Run() {
    next_send_ = last_sent_ = clock_.Monotonic();
    while (true) {
      const auto now = clock_.Monotonic();
      SendDue(now);
      const bool all_sent = to_send_ >= round_.size();
      if (all_sent && (round_.AllAnswered() || now >= last_sent_ + options_.timeout)) {
        break;
      }
      const auto wake = all_sent ? last_sent_ + options_.timeout : std::max(next_send_, now);
      for (int fd : net::WaitReadable(fds_, wake, clock_)) {
        Receive(fd);
      }
    }
    return round_.Finish(options_.timeout);
  }

 private:
  // Sends what the rate limit allows by `now`.
  void SendDue(steady_clock::time_point now) {
    while (to_send_ < round_.size() && next_send_ <= now) {
      if (SendOne(to_send_++)) {
        next_send_ += interval_;
      }
    }
  }

  // The SYN to peer i; false when it could not be sent (the peer has its result then).
  bool SendOne(std::size_t i) {
    const net::IpAddress& peer = round_.peer(i);
    FamilySockets& s = families_.at(peer.family());
    if (!s.error.empty()) {
      round_.Failed(i, PortState::kUnprobed, s.error);
      return false;
    }
    auto src = net::SourceAddressFor(peer);
    if (!src) {
      round_.Failed(i, PortState::kUnreachable, src.error().message);
      return false;
    }
    const std::uint32_t seq = rng_();
    const auto syn = net::BuildTcpSyn(*src, peer, s.local_port, options_.port, seq);
    sockaddr_storage to{};
    const socklen_t to_len = peer.ToSockaddr(0, &to);
    if (::sendto(s.tcp.get(), syn.data(), syn.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len) <
        0) {
      const int err = errno;
      round_.Failed(i,
                    err == ENETUNREACH || err == EHOSTUNREACH ? PortState::kUnreachable
                                                              : PortState::kUnprobed,
                    net::ErrnoText("sendto", err));
      return false;
    }
    last_sent_ = clock_.Monotonic();
    round_.Sent(i, s.local_port, seq, last_sent_);
    return true;
  }

  // The answers queued on one socket: SYN-ACK or RST on the TCP one, ICMP errors on the other.
  void Receive(int fd) {
    net::ReceiveDatagrams(
        fd, buf_, net::kMaxDatagramsPerWake, [&](net::Bytes data, const sockaddr_storage& from) {
          const auto now = clock_.Monotonic();
          const bool v6 = from.ss_family == AF_INET6;
          const auto sender =
              net::IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from));
          const FamilySockets& s = families_.at(v6 ? AF_INET6 : AF_INET);
          if (fd == s.tcp.get()) {
            if (auto seg = net::ParseTcpSegment(data, !v6); seg && sender) {
              round_.OnTcp(seg->src.value_or(*sender), *seg, now);
            }
          } else if (auto err = net::ParseIcmpError(data, v6)) {
            if (v6 && sender) {
              err->reporter = sender;
            }
            round_.OnIcmpError(*err, now);
          }
        });
  }

  SynRound round_;
  const TcpProbeOptions& options_;
  const Clock& clock_;
  const steady_clock::duration interval_;
  std::mt19937 rng_;
  std::map<int, FamilySockets> families_;
  std::vector<int> fds_;
  steady_clock::time_point next_send_;
  steady_clock::time_point last_sent_;
  std::size_t to_send_ = 0;
  std::uint8_t buf_[kAnswerBufferSize];
};

// The connects of a connect round, one non-blocking socket per peer.
struct PendingConnect {
  net::Fd fd;
  steady_clock::time_point started;
};

// Starts a non-blocking connect to every peer; a peer whose connect fails at once gets its
// result in `out` and no pending socket.
std::vector<PendingConnect> StartConnects(const std::vector<net::IpAddress>& peers,
                                          std::uint16_t port, const Clock& clock,
                                          std::vector<PortResult>* out) {
  std::vector<PendingConnect> pending(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    (*out)[i].peer = peers[i];
    auto fd = net::OpenSocket(peers[i].family(), SOCK_STREAM, 0);
    if (!fd) {
      (*out)[i].reason = fd.error().message;
      continue;
    }
    sockaddr_storage to{};
    const socklen_t len = peers[i].ToSockaddr(port, &to);
    pending[i].started = clock.Monotonic();
    if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&to), len) != 0 && errno != EINPROGRESS) {
      const int err = errno;
      (*out)[i].state = err == ECONNREFUSED ? PortState::kClosed : PortState::kUnreachable;
      (*out)[i].reason = net::ErrnoText("connect", err);
      continue;
    }
    pending[i].fd = std::move(*fd);
  }
  return pending;
}

// A connect that finished: open, refused or unreachable, from the socket's error.
void FinishConnect(PendingConnect* pending, const Clock& clock, PortResult* out) {
  int err = 0;
  socklen_t err_len = sizeof(err);
  if (::getsockopt(pending->fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) {
    out->state = PortState::kUnprobed;
    out->reason = net::ErrnoText("getsockopt(SO_ERROR)", errno);
    pending->fd = net::Fd();
    return;
  }
  out->rtt_seconds = Seconds(clock.Monotonic() - pending->started);
  if (err == 0) {
    out->state = PortState::kOpen;
    out->reason = "connected";
  } else {
    out->state = err == ECONNREFUSED ? PortState::kClosed : PortState::kUnreachable;
    out->reason = net::ErrnoText("connect", err);
  }
  pending->fd = net::Fd();
}

}  // namespace

std::vector<PortResult> RunSynProbe(const std::vector<net::IpAddress>& peers,
                                    const TcpProbeOptions& options, const Clock& clock) {
  return SynSender(peers, options, clock).Run();
}

std::vector<PortResult> RunConnectProbe(const std::vector<net::IpAddress>& peers,
                                        const TcpProbeOptions& options, const Clock& clock) {
  std::vector<PortResult> out(peers.size());
  std::vector<PendingConnect> pending = StartConnects(peers, options.port, clock, &out);
  const auto deadline = clock.Monotonic() + options.timeout;
  while (clock.Monotonic() < deadline) {
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
    if (clock.Poll(pfds.data(), pfds.size(), deadline) <= 0) {
      continue;
    }
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents != 0) {
        FinishConnect(&pending[index[k]], clock, &out[index[k]]);
      }
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

namespace {

constexpr std::uint16_t kMaxPort = 65535;

class TcpRound final : public ProbeRoundOf<TcpSettings, TcpSnapshot> {
 protected:
  std::shared_ptr<TcpSnapshot> RunRound(const TcpSettings& settings,
                                        const ProbeContext& context) override {
    auto snap = std::make_shared<TcpSnapshot>();
    const std::vector<ProbeTarget> targets = context.Targets();
    TcpProbeOptions opts;
    opts.port = settings.port;
    opts.timeout = settings.timeout;
    opts.packets_per_second = context.packets_per_second();
    if (settings.connect_mode) {
      // A full connect tears down an Established session with graceful restart: never do it to
      // those.
      std::vector<net::IpAddress> down;
      for (const auto& t : targets) {
        if (t.established) {
          snap->ports.push_back(PortResult{t.ip, PortState::kUnprobed, std::nullopt,
                                           "session Established: connect mode never probes it"});
        } else {
          down.push_back(t.ip);
        }
      }
      auto results = RunConnectProbe(down, opts, context.clock());
      snap->ports.insert(snap->ports.end(), results.begin(), results.end());
    } else {
      snap->ports = RunSynProbe(Addresses(targets), opts, context.clock());
    }
    snap->run.success = LogChanges(*snap, settings.connect_mode);
    return snap;
  }

 private:
  // Logs each peer's port state when it changed, and why the probe cannot run; true when it ran.
  bool LogChanges(const TcpSnapshot& snap, bool connect_mode) {
    bool success = true;
    std::string error;
    for (const auto& r : snap.ports) {
      if (r.state == PortState::kUnprobed && !connect_mode) {
        success = false;
        error = r.reason;
      }
    }
    for (const PortResult* r : port_states_.Update(snap.ports)) {
      logging::Write(r->state == PortState::kOpen ? spdlog::level::info : spdlog::level::warn,
                     "BGP port state",
                     {{"probe", "tcp"},
                      {"peer", r->peer.ToString()},
                      {"state", std::string(PortStateName(r->state))},
                      {"reason", r->reason.str()}});
    }
    if (error != last_error_ && !error.empty()) {
      logging::Error("TCP probe cannot run", {{"probe", "tcp"}, {"err", error}});
    }
    last_error_ = error;
    return success;
  }

  PortStateMemory port_states_;
  std::string last_error_;
};

class TcpProberImpl final : public ProberOf<TcpSettings, TcpSnapshot> {
 public:
  bool ProbesPeers() const override { return true; }
  std::unique_ptr<ProbeRound> NewRound() const override { return std::make_unique<TcpRound>(); }

 protected:
  void Parse(SettingsReader& r, TcpSettings* out) const override {
    if (!r.Keys({"enabled", "mode", "port", "interval", "timeout"})) {
      return;
    }
    r.Bool("enabled", &out->enabled);
    if (const auto mode = r.Choice(
            "mode", {"syn", "connect"},
            "must be syn (half-open, needs CAP_NET_RAW) or connect (risky: a full connect)")) {
      out->connect_mode = *mode == "connect";
    }
    r.Int<std::uint16_t>("port", 1, kMaxPort, &out->port);
    r.Duration("interval", &out->interval);
    r.Duration("timeout", &out->timeout);
    r.TimeoutWithinInterval(out->timeout, out->interval);
  }

  void ExposeResult(const TcpSnapshot& tcp, MetricWriter& out) const override {
    MetricFamily& port_state =
        out.Family("calico_bgp_peer_port_state",
                   "State of the peer's BGP port from the last half-open TCP probe, named by the "
                   "state label (open, closed, filtered, unreachable, unprobed); always 1.");
    MetricFamily& port_rtt =
        out.Family("calico_bgp_peer_port_rtt_seconds",
                   "Time from SYN to the answer in the last TCP probe (metrics.extra: "
                   "port_rtt).");
    const bool rtt = out.Extra("port_rtt");
    for (const auto& r : tcp.ports) {
      const std::string address = r.peer.ToString();
      if (!out.ShowPeer(address)) {
        continue;
      }
      if (r.rtt_seconds && rtt) {
        port_rtt.Add({{"peer", address}}, *r.rtt_seconds);
      }
      port_state.Add({{"peer", address}, {"state", std::string(PortStateName(r.state))}}, 1);
    }
  }
};

const TcpProberImpl kTcpProber;

}  // namespace

const Prober& TcpProber() { return kTcpProber; }

}  // namespace cbe::probes
