#include "probes/mtu_probe.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "probes/net/route.h"

namespace cbe::probes {

std::vector<MtuResult> RunMtuProbe(const std::vector<net::IpAddress>& peers,
                                   const MtuProbeOptions& options, const Clock& clock) {
  std::vector<MtuResult> out(peers.size());
  std::vector<net::IpAddress> searchable;
  std::vector<int> mtus;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
    auto route = net::LookupRoute(peers[i]);
    if (!route) {
      out[i].reason = route.error().message;
      continue;
    }
    out[i].interface = route->interface;
    if (route->interface_mtu > 0) {
      out[i].interface_mtu = route->interface_mtu;
      searchable.push_back(peers[i]);
      mtus.push_back(route->interface_mtu);
      index.push_back(i);
    }
  }
  std::vector<std::string> reasons;
  const auto found =
      SearchPathMtu(searchable, mtus,
                    PathMtuOptions{options.timeout, options.max_steps, options.packets_per_second},
                    clock, &reasons);
  for (std::size_t k = 0; k < index.size(); ++k) {
    out[index[k]].path_mtu = found[k];
    out[index[k]].reason = reasons[k];
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

namespace {

using std::chrono::steady_clock;

constexpr int kIpv4MinimumMtu = 576;   // RFC 791: every IPv4 host takes datagrams this large.
constexpr int kIpv6MinimumMtu = 1280;  // RFC 8200: every IPv6 link carries packets this large.
constexpr int kEchoesPerStep = 2;      // One lost echo does not fail a size.

// The searches of one round: each peer's steps are sent paced, in turn, and end with a reply
// or at their deadline, when the search picks the next size.
class MtuRound {
 public:
  MtuRound(const std::vector<net::IpAddress>& peers, const std::vector<int>& interface_mtu,
           const PathMtuOptions& options, const Clock& clock, net::EchoSocketOpener open)
      : peers_(peers),
        options_(options),
        clock_(clock),
        loop_(clock, /*dont_fragment=*/true, std::move(open)),
        interval_(net::PacketInterval(options.packets_per_second)) {
    st_.reserve(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i) {
      const int minimum = peers[i].is_v6() ? kIpv6MinimumMtu : kIpv4MinimumMtu;
      st_.emplace_back(PathMtuSearch(minimum, interface_mtu[i], options.max_steps));
      if (st_[i].search.Next() > 0) {
        ready_.push_back(i);
      }
    }
    next_send_ = clock.Monotonic();
  }

  void Run() {
    while (true) {
      const auto now = clock_.Monotonic();
      FinishSteps(now);
      const auto sent_at = SendReady(now);
      if (active_ == 0 && ready_.empty()) {
        return;
      }
      loop_.Receive(WakeTime(sent_at),
                    [&](std::size_t i, std::uint16_t seq, double,
                        const std::optional<net::IpAddress>&) { OnReply(i, seq); });
    }
  }

  std::vector<std::optional<int>> Results(std::vector<std::string>* reasons) const {
    std::vector<std::optional<int>> out;
    for (const State& s : st_) {
      // An echo that could not be sent as asked: no number, the error instead.
      out.push_back(s.error.empty() ? s.search.path_mtu() : std::nullopt);
      if (reasons != nullptr) {
        reasons->push_back(s.error.empty() ? s.search.reason() : s.error);
      }
    }
    return out;
  }

 private:
  struct State {
    explicit State(PathMtuSearch s) : search(std::move(s)) {}
    PathMtuSearch search;
    std::vector<std::uint16_t> seqs;  // Outstanding echoes of the current step.
    bool replied = false;
    steady_clock::time_point deadline;
    bool active = false;
    std::string error;
  };

  // Finished steps (a reply, or the deadline passed): the search decides the next size.
  void FinishSteps(steady_clock::time_point now) {
    for (std::size_t i = 0; i < st_.size(); ++i) {
      State& s = st_[i];
      if (s.active && (s.replied || now >= s.deadline)) {
        for (const std::uint16_t seq : s.seqs) {
          loop_.Forget(seq);  // answered ones are gone already
        }
        s.search.Result(s.replied);
        s.active = false;
        --active_;
        if (s.search.Next() > 0) {
          ready_.push_back(i);
        }
      }
    }
  }

  // Sends the waiting steps at the paced rate. Returns the time after the last send.
  steady_clock::time_point SendReady(steady_clock::time_point now) {
    while (!ready_.empty() && next_send_ <= now) {
      const std::size_t i = ready_.front();
      ready_.pop_front();
      if (SendStep(i)) {
        now = clock_.Monotonic();
        State& s = st_[i];
        s.deadline = s.seqs.empty() ? now : now + options_.timeout;
        s.active = true;
        ++active_;
      }
    }
    return now;
  }

  // The echoes of peer i's next size. False when the peer's search ends with an error.
  bool SendStep(std::size_t i) {
    State& s = st_[i];
    const int size = s.search.Next();
    s.replied = false;
    s.seqs.clear();
    for (int e = 0; e < kEchoesPerStep; ++e) {
      next_send_ += interval_;
      auto seq = loop_.Send(peers_[i], i, static_cast<std::size_t>(size));
      if (!seq) {
        if (seq.error().message.find(std::strerror(EMSGSIZE)) != std::string::npos) {
          break;  // Larger than the local route allows: a failed step.
        }
        s.error = seq.error().message;
        return false;
      }
      s.seqs.push_back(*seq);
    }
    return true;
  }

  // The next step's deadline, or the next send.
  steady_clock::time_point WakeTime(steady_clock::time_point now) const {
    steady_clock::time_point wake = now + options_.timeout;
    for (const State& s : st_) {
      if (s.active) {
        wake = std::min(wake, s.deadline);
      }
    }
    if (!ready_.empty()) {
      wake = std::min(wake, std::max(next_send_, now));
    }
    return wake;
  }

  // A reply from peer i (the loop matched its sender) to echo `seq`.
  void OnReply(std::size_t i, std::uint16_t seq) {
    for (std::uint16_t s : st_[i].seqs) {
      if (s == seq) {
        st_[i].replied = true;
      }
    }
  }

  const std::vector<net::IpAddress>& peers_;
  const PathMtuOptions& options_;
  const Clock& clock_;
  net::EchoLoop loop_;
  const std::chrono::nanoseconds interval_;
  std::vector<State> st_;
  std::deque<std::size_t> ready_;  // Peers whose next step waits for its turn, in order.
  steady_clock::time_point next_send_;
  std::size_t active_ = 0;
};

}  // namespace

std::vector<std::optional<int>> SearchPathMtu(const std::vector<net::IpAddress>& peers,
                                              const std::vector<int>& interface_mtu,
                                              const PathMtuOptions& options, const Clock& clock,
                                              std::vector<std::string>* reasons,
                                              net::EchoSocketOpener open) {
  MtuRound round(peers, interface_mtu, options, clock, std::move(open));
  round.Run();
  return round.Results(reasons);
}

const std::vector<TunnelDevice>& CalicoTunnels() {
  static const std::vector<TunnelDevice> kTunnels = {
      {"tunl0", "ipip", 20, false},
      {"vxlan.calico", "vxlan", 50, false},
      {"vxlan-v6.calico", "vxlan-v6", 70, true},
      {"wireguard.cali", "wireguard", 60, false},
      {"wg-v6.cali", "wireguard-v6", 80, true},
  };
  return kTunnels;
}

std::vector<TunnelResult> CheckTunnels(
    std::optional<int> underlay_v4, std::optional<int> underlay_v6,
    const std::function<std::optional<int>(const std::string&)>& mtu_of) {
  std::vector<TunnelResult> out;
  for (const TunnelDevice& t : CalicoTunnels()) {
    const auto mtu = mtu_of(t.interface);
    if (!mtu) {
      continue;
    }
    TunnelResult r;
    r.interface = t.interface;
    r.kind = t.kind;
    r.mtu = *mtu;
    r.underlay_mtu = t.v6_underlay ? underlay_v6 : underlay_v4;
    if (r.underlay_mtu) {
      r.fits = r.mtu + t.overhead <= *r.underlay_mtu;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace cbe::probes
