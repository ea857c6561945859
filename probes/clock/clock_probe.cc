#include "probes/clock/clock_probe.h"

#include <cerrno>
#include <exception>
#include <thread>

#include "exporter/base/logging.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

struct StatusBit {
  int bit;
  const char* name;
};

constexpr StatusBit kStatusBits[] = {
    {STA_PLL, "PLL"},
    {STA_PPSFREQ, "PPSFREQ"},
    {STA_PPSTIME, "PPSTIME"},
    {STA_FLL, "FLL"},
    {STA_INS, "INS"},
    {STA_DEL, "DEL"},
    {STA_UNSYNC, "UNSYNC"},
    {STA_FREQHOLD, "FREQHOLD"},
    {STA_PPSSIGNAL, "PPSSIGNAL"},
    {STA_PPSJITTER, "PPSJITTER"},
    {STA_PPSWANDER, "PPSWANDER"},
    {STA_PPSERROR, "PPSERROR"},
    {STA_CLOCKERR, "CLOCKERR"},
    {STA_NANO, "NANO"},
    {STA_MODE, "MODE"},
    {STA_CLK, "CLK"},
};

const char* StateName(int state) {
  switch (state) {
    case TIME_OK:
      return "ok";
    case TIME_INS:
      return "insert";
    case TIME_DEL:
      return "delete";
    case TIME_OOP:
      return "oop";
    case TIME_WAIT:
      return "wait";
    case TIME_ERROR:
      return "error";
    default:
      return "unknown";
  }
}

// Runs `fn` on its own thread; if no thread can be started, runs it here.
template <typename F>
std::thread Spawn(F fn) {
  try {
    return std::thread(fn);
  } catch (const std::system_error&) {
    fn();
    return {};
  }
}

}  // namespace

KernelClock KernelClockFromTimex(const timex& tx, int state) {
  KernelClock k;
  k.status = tx.status;
  for (const StatusBit& b : kStatusBits) {
    if ((tx.status & b.bit) != 0) {
      k.status_flags.emplace_back(b.name);
    }
  }
  k.estimated_error_seconds = static_cast<double>(tx.esterror) / 1e6;
  k.max_error_seconds = static_cast<double>(tx.maxerror) / 1e6;
  k.offset_seconds = static_cast<double>(tx.offset) / ((tx.status & STA_NANO) != 0 ? 1e9 : 1e6);
  k.frequency_ppm = static_cast<double>(tx.freq) / 65536.0;
  k.synchronized = (tx.status & STA_UNSYNC) == 0 && k.max_error_seconds < kUnsyncMaxErrorSeconds;
  k.state = state;
  k.state_name = StateName(state);
  return k;
}

Result<KernelClock> ReadKernelClock() {
  timex tx{};
  tx.modes = 0;
  const int state = ::adjtimex(&tx);
  if (state < 0) {
    return Error{net::ErrnoText("adjtimex", errno)};
  }
  return KernelClockFromTimex(tx, state);
}

ClockRoundResult RunClockRound(const ClockRoundOptions& opts,
                               const std::vector<net::IpAddress>& peers, const Clock& clock) {
  ClockRoundResult r;
  if (auto k = ReadKernelClock()) {
    r.kernel = std::move(*k);
  } else {
    r.kernel_error = k.error().message;
  }
  // Threads inherit the caller's network namespace (setns is per thread; clone copies it).
  std::thread ntp_thread;
  if (!opts.ntp_servers.empty()) {
    ntp_thread = Spawn([&] {
      NtpQueryOptions o;
      o.timeout = opts.timeout;
      r.ntp = QueryNtpServers(opts.ntp_servers, o, clock);
    });
  }
  std::thread peer_thread;
  if (opts.peer_offset_enabled && !peers.empty()) {
    peer_thread = Spawn([&] {
      PeerClockOptions o;
      o.timeout = opts.timeout;
      o.count = opts.peer_requests;
      o.packets_per_second = opts.packets_per_second;
      r.peers = RunPeerClockProbe(peers, o, clock);
    });
  }
  r.chrony_enabled = opts.chrony_enabled;
  if (opts.chrony_enabled) {
    if (auto t = QueryChronyTracking(opts.chrony_address, opts.timeout, clock)) {
      r.chrony = std::move(*t);
    } else {
      r.chrony_error = t.error().message;
    }
  }
  if (ntp_thread.joinable()) {
    ntp_thread.join();
  }
  if (peer_thread.joinable()) {
    peer_thread.join();
  }
  return r;
}

namespace {

constexpr std::uint16_t kChronyCommandPort = 323;  // chronyd's UDP command port.

class ClockRound final : public ProbeRoundOf<ClockSettings, ClockSnapshot> {
 protected:
  std::shared_ptr<ClockSnapshot> RunRound(const ClockSettings& c,
                                          const ProbeContext& context) override {
    auto snap = std::make_shared<ClockSnapshot>();
    ClockRoundOptions opts;
    opts.ntp_servers = c.ntp_servers;
    opts.chrony_enabled = c.chrony_enabled;
    opts.chrony_address = c.chrony_address;
    opts.peer_offset_enabled = c.peer_offset_enabled;
    opts.timeout = c.timeout;
    opts.packets_per_second = context.packets_per_second();
    const std::vector<net::IpAddress> ips =
        c.peer_offset_enabled ? Addresses(context.Targets()) : std::vector<net::IpAddress>();
    snap->result = RunClockRound(opts, ips, context.clock());
    const ClockRoundResult& r = snap->result;
    LogChanges(r);
    // It fails when the kernel clock cannot be read or an IPv4 peer could not be asked (ICMP
    // timestamps exist for IPv4 only).
    snap->run.success = r.kernel.has_value();
    for (const auto& p : r.peers) {
      snap->run.success = snap->run.success && (p.probed || p.peer.is_v6());
    }
    return snap;
  }

 private:
  // Logs what changed: the kernel's sync state, NTP servers and chrony going up or down.
  void LogChanges(const ClockRoundResult& r) {
    std::string summary = r.kernel ? (r.kernel->synchronized ? "kernel synced" : "kernel unsynced")
                                   : "kernel unknown: " + r.kernel_error;
    for (const auto& n : r.ntp) {
      summary += "; ntp " + n.server + (n.up ? " up" : " down: " + n.reason);
    }
    if (r.chrony_enabled) {
      summary += r.chrony ? "; chrony up" : "; chrony down: " + r.chrony_error;
    }
    if (summary != last_) {
      logging::Info("clock state", {{"probe", "clock"}, {"state", summary}});
    }
    last_ = summary;
  }

  std::string last_;
};

// The clock's families, in exposition order.
struct ClockFamilies {
  MetricFamily& synchronized;
  MetricFamily& estimated_error;
  MetricFamily& max_error;
  MetricFamily& offset;
  MetricFamily& ntp_up;
  MetricFamily& ntp_offset;
  MetricFamily& ntp_rtt;
  MetricFamily& ntp_stratum;
  MetricFamily& chrony_up;
  MetricFamily& chrony_offset;
  MetricFamily& chrony_stratum;
  MetricFamily& chrony_root_delay;
  MetricFamily& chrony_root_dispersion;
  MetricFamily& chrony_info;
  MetricFamily& peer_offset;
};

// A list of family declarations: split, it would only be harder to read.
ClockFamilies DeclareClockFamilies(MetricWriter& f) {
  // Braced initialisation runs left to right: the families are added in this order.
  return ClockFamilies{
      f.Family("calico_bgp_clock_synchronized",
               "1 if the kernel clock is synchronised (adjtimex: STA_UNSYNC clear and maximum "
               "error below 16 s, as ntpstat decides)."),
      f.Family("calico_bgp_clock_estimated_error_seconds",
               "The kernel clock's estimated error (adjtimex)."),
      f.Family("calico_bgp_clock_max_error_seconds",
               "The kernel clock's maximum error (adjtimex)."),
      f.Family("calico_bgp_clock_offset_seconds",
               "Offset the kernel still corrects: reference minus this clock (adjtimex)."),
      f.Family("calico_bgp_ntp_up", "1 if the NTP server answered and passed every check."),
      f.Family("calico_bgp_ntp_offset_seconds", "The NTP server's clock minus this node's clock."),
      f.Family("calico_bgp_ntp_rtt_seconds", "Round-trip delay to the NTP server."),
      f.Family("calico_bgp_ntp_stratum", "Stratum the NTP server reports."),
      f.Family("calico_bgp_chrony_up", "1 if chronyd's command port answered a tracking request."),
      f.Family("calico_bgp_chrony_offset_seconds",
               "chronyd's reference clock minus this node's clock (its system time correction)."),
      f.Family("calico_bgp_chrony_stratum", "chronyd's stratum."),
      f.Family("calico_bgp_chrony_root_delay_seconds", "chronyd's root delay."),
      f.Family("calico_bgp_chrony_root_dispersion_seconds", "chronyd's root dispersion."),
      f.Family("calico_bgp_chrony_tracking_info", "chronyd's reference and leap status; always 1."),
      f.Family("calico_bgp_peer_clock_offset_seconds",
               "The peer's clock minus this node's clock, from ICMP timestamps."),
  };
}

void AddKernel(const KernelClock& kernel, ClockFamilies& f) {
  f.synchronized.Add({}, kernel.synchronized ? 1 : 0);
  f.estimated_error.Add({}, kernel.estimated_error_seconds);
  f.max_error.Add({}, kernel.max_error_seconds);
  f.offset.Add({}, kernel.offset_seconds);
}

void AddNtpServer(const NtpServerResult& n, ClockFamilies& f) {
  const Labels server = {{"server", n.server}};
  f.ntp_up.Add(server, n.up ? 1 : 0);
  if (n.offset_seconds) {
    f.ntp_offset.Add(server, *n.offset_seconds);
  }
  if (n.rtt_seconds) {
    f.ntp_rtt.Add(server, *n.rtt_seconds);
  }
  if (n.stratum) {
    f.ntp_stratum.Add(server, *n.stratum);
  }
}

void AddChrony(const ClockRoundResult& r, ClockFamilies& f) {
  f.chrony_up.Add({}, r.chrony ? 1 : 0);
  if (!r.chrony) {
    return;
  }
  const auto& c = *r.chrony;
  f.chrony_offset.Add({}, c.offset_seconds);
  f.chrony_stratum.Add({}, c.stratum);
  f.chrony_root_delay.Add({}, c.root_delay_seconds);
  f.chrony_root_dispersion.Add({}, c.root_dispersion_seconds);
  f.chrony_info.Add(
      {{"reference", c.reference_address.empty() ? c.reference_id_hex : c.reference_address},
       {"leap", std::string(ChronyLeapName(c.leap_status))}},
      1);
}

// A host or host:port without blanks or a path.
bool NtpServerName(const std::string& s) {
  return !s.empty() && s.find_first_of(" \t/") == std::string::npos;
}

class ClockProberImpl final : public ProberOf<ClockSettings, ClockSnapshot> {
 public:
  bool ProbesPeers() const override { return true; }
  bool TopLevelSection() const override { return true; }
  std::unique_ptr<ProbeRound> NewRound() const override { return std::make_unique<ClockRound>(); }

 protected:
  void Parse(SettingsReader& r, ClockSettings* clock) const override {
    if (!r.Keys({"enabled", "interval", "max_offset", "timeout", "ntp_servers", "chrony",
                 "peer_offset"})) {
      return;
    }
    r.Bool("enabled", &clock->enabled);
    r.Duration("interval", &clock->interval);
    r.Duration("max_offset", &clock->max_offset);
    r.Duration("timeout", &clock->timeout);
    r.TimeoutWithinInterval(clock->timeout, clock->interval);
    r.Scalars("ntp_servers", "must be a list of host or host:port",
              "must be a host or host:port, e.g. 10.0.0.53 or ntp.internal:123", NtpServerName,
              &clock->ntp_servers);
    if (const auto chrony = r.Section("chrony"); chrony && chrony->Keys({"address", "enabled"})) {
      chrony->Bool("enabled", &clock->chrony_enabled);
      if (auto address = chrony->Scalar(
              "address", "must be an IP address with an optional port, e.g. 127.0.0.1:323",
              [](const std::string& a) {
                return net::ParseHostPort(a, kChronyCommandPort).has_value();
              })) {
        clock->chrony_address = std::move(*address);
      }
    }
    if (const auto p = r.Section("peer_offset"); p && p->Keys({"enabled"})) {
      p->Bool("enabled", &clock->peer_offset_enabled);
    }
  }

  void ExposeResult(const ClockSnapshot& clock, MetricWriter& out) const override {
    ClockFamilies f = DeclareClockFamilies(out);
    const ClockRoundResult& r = clock.result;
    if (r.kernel) {
      AddKernel(*r.kernel, f);
    }
    for (const auto& n : r.ntp) {
      AddNtpServer(n, f);
    }
    if (r.chrony_enabled) {
      AddChrony(r, f);
    }
    for (const auto& p : r.peers) {
      if (const std::string address = p.peer.ToString();
          p.offset_seconds && out.ShowPeer(address)) {
        f.peer_offset.Add({{"peer", address}}, *p.offset_seconds);
      }
    }
  }
};

const ClockProberImpl kClockProber;

}  // namespace

const Prober& ClockProber() { return kClockProber; }

}  // namespace cbe::probes
