#include "probes/icmp_probe.h"

#include <algorithm>
#include <optional>

#include "exporter/base/logging.h"
#include "probes/net/echo_socket.h"

namespace cbe::probes {

using std::chrono::steady_clock;

// Bytes of each echo, IP header included: ping's default size.
constexpr std::size_t kEchoPacketSize = 64;

namespace {

// One round of echoes: `count` per peer, round robin (one echo per peer at a time) at the
// configured rate; each peer's answers count until its first echo plus the timeout.
class EchoRound {
 public:
  EchoRound(const std::vector<net::IpAddress>& peers, const IcmpProbeOptions& options,
            const Clock& clock)
      : peers_(peers),
        options_(options),
        clock_(clock),
        out_(peers.size()),
        rtt_sum_(peers.size(), 0),
        deadline_(peers.size()),
        unsent_(peers.size(), 0),
        loop_(clock, /*dont_fragment=*/false),
        interval_(net::PacketInterval(options.packets_per_second)),
        total_(peers.size() * static_cast<std::size_t>(std::max(0, options.count))) {
    for (std::size_t i = 0; i < peers.size(); ++i) {
      out_[i].peer = peers[i];
    }
  }

  std::vector<IcmpResult> Run() {
    next_send_ = round_end_ = clock_.Monotonic();
    const auto on_reply = [this](std::size_t i, std::uint16_t, double rtt,
                                 const std::optional<net::IpAddress>&) { OnReply(i, rtt); };
    while (true) {
      const auto now = clock_.Monotonic();
      SendDue(now);
      const bool all_sent = k_ >= total_;
      if (all_sent && (outstanding_ == 0 || now >= round_end_)) {
        break;
      }
      loop_.Receive(all_sent ? round_end_ : std::min(std::max(next_send_, now), round_end_),
                    on_reply);
    }
    return Results();
  }

 private:
  // Sends the echoes the rate limit allows by `now`.
  void SendDue(steady_clock::time_point now) {
    while (k_ < total_ && next_send_ <= now) {
      const std::size_t i = k_ % peers_.size();  // Round robin: one echo per peer at a time.
      ++k_;
      if (const net::EchoSocket& sock = loop_.Socket(peers_[i].family()); !sock.error.empty()) {
        out_[i].reason = sock.error;  // Not probed at all: no socket.
        continue;
      }
      if (deadline_[i] && now >= *deadline_[i]) {
        ++unsent_[i];  // Its answer could not count any more.
        continue;
      }
      out_[i].probed = true;
      ++out_[i].sent;
      if (!deadline_[i]) {
        deadline_[i] = clock_.Monotonic() + options_.timeout;
        round_end_ = std::max(round_end_, *deadline_[i]);
      }
      auto seq = loop_.Send(peers_[i], i, kEchoPacketSize);
      if (!seq) {
        out_[i].reason = seq.error().message;  // E.g. no route: an echo lost for sure.
        continue;
      }
      ++outstanding_;
      next_send_ += interval_;
    }
  }

  // A reply from peer i (the loop matched its sender) to one of its echoes.
  void OnReply(std::size_t i, double rtt) {
    --outstanding_;
    if (deadline_[i] && clock_.Monotonic() > *deadline_[i]) {
      return;  // Past the peer's deadline: lost, as if it had come later still.
    }
    ++out_[i].received;
    rtt_sum_[i] += rtt;
  }

  std::vector<IcmpResult> Results() {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      IcmpResult& r = out_[i];
      if (r.received > 0) {
        r.rtt_seconds = rtt_sum_[i] / r.received;
      }
      if (r.received < r.sent && r.reason.empty()) {
        r.reason = std::to_string(r.sent - r.received) + " of " + std::to_string(r.sent) +
                   " echoes unanswered";
      }
      if (unsent_[i] > 0) {
        r.reason += std::string(r.reason.empty() ? "" : "; ") + std::to_string(unsent_[i]) +
                    " echoes not sent: the round robin over all peers came back after the "
                    "timeout (raise probes.packets_per_second or probes.icmp.timeout)";
      }
    }
    return std::move(out_);
  }

  const std::vector<net::IpAddress>& peers_;
  const IcmpProbeOptions& options_;
  const Clock& clock_;
  std::vector<IcmpResult> out_;
  std::vector<double> rtt_sum_;
  // Each peer's deadline: its first echo plus the timeout (none yet: not sent).
  std::vector<std::optional<steady_clock::time_point>> deadline_;
  std::vector<int> unsent_;  // Echoes skipped: too late for the deadline.
  net::EchoLoop loop_;
  const steady_clock::duration interval_;
  const std::size_t total_;
  steady_clock::time_point next_send_;
  steady_clock::time_point round_end_;  // The latest deadline so far.
  std::size_t k_ = 0;
  std::size_t outstanding_ = 0;
};

}  // namespace

std::vector<IcmpResult> RunIcmpProbe(const std::vector<net::IpAddress>& peers,
                                     const IcmpProbeOptions& options, const Clock& clock) {
  return EchoRound(peers, options, clock).Run();
}

namespace {

constexpr int kMaxIcmpCount = 100;

class IcmpRound final : public ProbeRoundOf<IcmpSettings, IcmpSnapshot> {
 protected:
  std::shared_ptr<IcmpSnapshot> RunRound(const IcmpSettings& settings,
                                         const ProbeContext& context) override {
    auto snap = std::make_shared<IcmpSnapshot>();
    IcmpProbeOptions opts;
    opts.count = settings.count;
    opts.timeout = settings.timeout;
    opts.packets_per_second = context.packets_per_second();
    snap->results = RunIcmpProbe(Addresses(context.Targets()), opts, context.clock());
    // The probe fails when it cannot run: a peer it could not probe says why.
    std::string error;
    for (const auto& r : snap->results) {
      if (!r.probed) {
        error = r.reason;
      }
    }
    if (error != last_error_ && !error.empty()) {
      logging::Error("ICMP probe cannot run", {{"probe", "icmp"}, {"err", error}});
    }
    last_error_ = error;
    snap->run.success = error.empty();
    return snap;
  }

 private:
  std::string last_error_;
};

class IcmpProberImpl final : public ProberOf<IcmpSettings, IcmpSnapshot> {
 public:
  bool ProbesPeers() const override { return true; }
  std::unique_ptr<ProbeRound> NewRound() const override { return std::make_unique<IcmpRound>(); }

 protected:
  void Parse(SettingsReader& r, IcmpSettings* out) const override {
    if (!r.Keys({"enabled", "interval", "count", "timeout"})) {
      return;
    }
    r.Bool("enabled", &out->enabled);
    r.Duration("interval", &out->interval);
    r.Int("count", 1, kMaxIcmpCount, &out->count);
    r.Duration("timeout", &out->timeout);
    r.TimeoutWithinInterval(out->timeout, out->interval);
  }

  void ExposeResult(const IcmpSnapshot& icmp, MetricWriter& out) const override {
    MetricFamily& rtt = out.Family("calico_bgp_peer_icmp_rtt_seconds",
                                   "Mean round trip of the ICMP echo replies of the last probe.");
    MetricFamily& loss =
        out.Family("calico_bgp_peer_icmp_loss_ratio",
                   "Share of the ICMP echoes of the last probe that got no reply.");
    for (const auto& r : icmp.results) {
      const std::string address = r.peer.ToString();
      if (!r.probed || !out.ShowPeer(address)) {
        continue;
      }
      if (r.rtt_seconds) {
        rtt.Add({{"peer", address}}, *r.rtt_seconds);
      }
      loss.Add({{"peer", address}}, r.loss_ratio());
    }
  }
};

const IcmpProberImpl kIcmpProber;

}  // namespace

const Prober& IcmpProber() { return kIcmpProber; }

}  // namespace cbe::probes
