#include "probes/mtu_probe.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include "exporter/base/logging.h"
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
    auto lookup = net::LookupRoute(peers[i]);
    if (!lookup) {
      out[i].reason = lookup.error().message;
      out[i].failed = true;
      continue;
    }
    if (!lookup->route) {
      out[i].reason = lookup->no_route;
      continue;
    }
    const net::Route* route = &*lookup->route;
    out[i].interface = route->interface;
    if (route->interface_mtu > 0) {
      out[i].interface_mtu = route->interface_mtu;
      searchable.push_back(peers[i]);
      mtus.push_back(route->interface_mtu);
      index.push_back(i);
    }
  }
  auto found = SearchPathMtu(
      searchable, mtus,
      PathMtuOptions{options.timeout, options.max_steps, options.packets_per_second}, clock);
  for (std::size_t k = 0; k < index.size(); ++k) {
    out[index[k]].path_mtu = found[k].path_mtu;
    out[index[k]].reason = std::move(found[k].reason);
    out[index[k]].failed = found[k].failed;
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

  std::vector<PathMtuOutcome> Results() const {
    std::vector<PathMtuOutcome> out;
    out.reserve(st_.size());
    for (const State& s : st_) {
      // An echo that could not be sent as asked: no number, the error instead.
      out.push_back(s.error.empty() ? PathMtuOutcome{s.search.path_mtu(), s.search.reason(), false}
                                    : PathMtuOutcome{std::nullopt, s.error, s.no_socket});
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
    bool no_socket = false;  // The error is the family's echo socket's, not this peer's send.
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
        s.no_socket = !loop_.Socket(peers_[i].family()).error.empty();
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

std::vector<PathMtuOutcome> SearchPathMtu(const std::vector<net::IpAddress>& peers,
                                          const std::vector<int>& interface_mtu,
                                          const PathMtuOptions& options, const Clock& clock,
                                          net::EchoSocketOpener open) {
  MtuRound round(peers, interface_mtu, options, clock, std::move(open));
  round.Run();
  return round.Results();
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

namespace {

constexpr int kMinMtuSteps = 2;  // The protocol minimum and the interface MTU.
constexpr int kMaxMtuSteps = 32;

class MtuProbeRound final : public ProbeRoundOf<MtuSettings, MtuSnapshot> {
 protected:
  std::shared_ptr<MtuSnapshot> RunRound(const MtuSettings& settings,
                                        const ProbeContext& context) override {
    auto snap = std::make_shared<MtuSnapshot>();
    MtuProbeOptions opts;
    opts.timeout = settings.timeout;
    opts.max_steps = settings.max_steps;
    opts.packets_per_second = context.packets_per_second();
    snap->results = RunMtuProbe(Addresses(context.Targets()), opts, context.clock());
    std::optional<int> underlay_v4;
    std::optional<int> underlay_v6;
    for (const auto& r : snap->results) {
      if (!r.interface_mtu) {
        continue;
      }
      auto& underlay = r.peer.is_v6() ? underlay_v6 : underlay_v4;
      underlay = std::min(underlay.value_or(*r.interface_mtu), *r.interface_mtu);
    }
    snap->tunnels = CheckTunnels(underlay_v4, underlay_v6, net::InterfaceMtu);
    for (const auto& t : snap->tunnels) {
      if (t.fits == false) {
        logging::Warn("tunnel MTU does not fit the underlay",
                      {{"probe", "mtu"},
                       {"interface", t.interface},
                       {"mtu", std::to_string(t.mtu)},
                       {"underlay_mtu", std::to_string(t.underlay_mtu.value_or(0))}});
      }
    }
    // The probe fails when it cannot measure (netlink, no echo socket, don't-fragment
    // refused), not when a peer has no route or does not answer.
    snap->run.success = std::none_of(snap->results.begin(), snap->results.end(),
                                     [](const MtuResult& r) { return r.failed; });
    return snap;
  }
};

class MtuProberImpl final : public ProberOf<MtuSettings, MtuSnapshot> {
 public:
  bool ProbesPeers() const override { return true; }
  std::unique_ptr<ProbeRound> NewRound() const override {
    return std::make_unique<MtuProbeRound>();
  }

 protected:
  void Parse(SettingsReader& r, MtuSettings* out) const override {
    if (!r.Keys({"enabled", "interval", "timeout", "max_steps"})) {
      return;
    }
    r.Bool("enabled", &out->enabled);
    r.Duration("interval", &out->interval);
    r.Duration("timeout", &out->timeout);
    r.Int("max_steps", kMinMtuSteps, kMaxMtuSteps, &out->max_steps);
  }

  void ExposeResult(const MtuSnapshot& mtu, MetricWriter& out) const override {
    MetricFamily& interface_mtu = out.Family("calico_bgp_interface_mtu_bytes",
                                             "MTU of an interface that routes to a probed peer.");
    MetricFamily& path_mtu =
        out.Family("calico_bgp_peer_path_mtu_bytes",
                   "Largest packet that reached the peer with don't-fragment set in the last MTU "
                   "probe; interface: the one of the route to the peer.");
    MetricFamily& tunnel_mtu =
        out.Family("calico_bgp_tunnel_mtu_bytes", "MTU of a Calico tunnel device.");
    MetricFamily& tunnel_fits =
        out.Family("calico_bgp_tunnel_mtu_fits",
                   "1 if the tunnel MTU plus its encapsulation overhead fits the underlay MTU.");
    // One series per interface (a node has one or two uplinks; per peer it would be N^2 in a
    // full mesh); the path MTU names its peer's interface to join on.
    std::map<std::string, double> interfaces;
    for (const auto& r : mtu.results) {
      if (r.interface_mtu && !r.interface.empty()) {
        interfaces.emplace(r.interface.str(), *r.interface_mtu);
      }
      if (const std::string address = r.peer.ToString(); r.path_mtu && out.ShowPeer(address)) {
        path_mtu.Add({{"peer", address}, {"interface", r.interface.str()}}, *r.path_mtu);
      }
    }
    for (const auto& [name, value] : interfaces) {
      interface_mtu.Add({{"interface", name}}, value);
    }
    for (const auto& t : mtu.tunnels) {
      const Labels labels = {{"interface", t.interface}, {"kind", t.kind}};
      tunnel_mtu.Add(labels, t.mtu);
      if (t.fits) {
        tunnel_fits.Add(labels, *t.fits ? 1 : 0);
      }
    }
  }
};

const MtuProberImpl kMtuProber;

}  // namespace

const Prober& MtuProber() { return kMtuProber; }

}  // namespace cbe::probes
