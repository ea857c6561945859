#include "exporter/core/probe_rounds.h"

#include <algorithm>
#include <set>

#include "exporter/base/logging.h"
#include "probes/icmp_probe.h"
#include "probes/listener_probe.h"
#include "probes/mtu_probe.h"
#include "probes/net/route.h"
#include "probes/tcp_syn_probe.h"

namespace cbe {

std::vector<ProbeTarget> ProbeTargets(const Snapshot& snapshot,
                                      const std::vector<StaticPeer>& static_peers) {
  // Every address with the order it was first seen, sorted to merge the duplicates (runs every
  // BIRD round over every session: a sorted vector, not a map of a thousand nodes).
  struct Seen {
    net::IpAddress ip;
    std::size_t first;
    bool established;
  };
  std::vector<Seen> seen;
  const auto add = [&](std::string_view address, bool established) {
    address = address.substr(0, address.find('%'));
    if (auto ip = net::IpAddress::Parse(address)) {
      seen.push_back(Seen{*ip, seen.size(), established});
    }
  };
  if (snapshot.bird) {
    for (const DaemonSnapshot& d : snapshot.bird->daemons) {
      for (const PeerSnapshot& p : d.peers) {
        add(p.peer, p.up);
      }
    }
  }
  for (const StaticPeer& p : static_peers) {
    add(p.address, false);
  }
  std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) {
    return a.ip != b.ip ? a.ip < b.ip : a.first < b.first;
  });
  std::vector<Seen> unique;
  unique.reserve(seen.size());
  for (const Seen& s : seen) {
    if (!unique.empty() && unique.back().ip == s.ip) {
      unique.back().established = unique.back().established || s.established;
    } else {
      unique.push_back(s);
    }
  }
  std::sort(unique.begin(), unique.end(),
            [](const Seen& a, const Seen& b) { return a.first < b.first; });
  std::vector<ProbeTarget> out;
  out.reserve(unique.size());
  for (const Seen& s : unique) {
    out.push_back(ProbeTarget{s.ip, s.established});
  }
  return out;
}

ProbeRounds::ProbeRounds(Config config, const SnapshotStore* store, const Clock* clock)
    : config_(std::move(config)), store_(store), clock_(clock) {}

std::vector<ProbeTarget> ProbeRounds::Targets() const {
  return ProbeTargets(*store_->Get(), config_.static_peers);
}

ProbeRun ProbeRounds::StartRun(const std::string& probe) const {
  ProbeRun run;
  run.probe = probe;
  return run;
}

void ProbeRounds::FinishRun(ProbeRun* run, std::chrono::steady_clock::time_point start,
                            bool success) const {
  run->success = success;
  run->duration_seconds = std::chrono::duration<double>(clock_->Monotonic() - start).count();
  run->last_run_timestamp = ToUnixSeconds(clock_->Now());
}

std::shared_ptr<const TcpSnapshot> ProbeRounds::RunTcp() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<TcpSnapshot>();
  snap->run = StartRun("tcp");
  const auto targets = Targets();
  probes::TcpProbeOptions opts;
  opts.port = config_.probes.tcp.port;
  opts.timeout = config_.probes.tcp.timeout;
  opts.packets_per_second = config_.probes.packets_per_second;
  if (config_.probes.tcp.connect_mode) {
    // A full connect tears down an Established session with graceful restart: never do it to
    // those.
    std::vector<net::IpAddress> down;
    for (const auto& t : targets) {
      if (t.established) {
        snap->ports.push_back(
            probes::PortResult{t.ip, probes::PortState::kUnprobed, std::nullopt,
                               "session Established: connect mode never probes it"});
      } else {
        down.push_back(t.ip);
      }
    }
    auto results = probes::RunConnectProbe(down, opts, *clock_);
    snap->ports.insert(snap->ports.end(), results.begin(), results.end());
  } else {
    std::vector<net::IpAddress> ips;
    for (const auto& t : targets) {
      ips.push_back(t.ip);
    }
    snap->ports = probes::RunSynProbe(ips, opts, *clock_);
  }
  bool success = true;
  std::string error;
  std::map<std::string, std::string> states;
  for (const auto& r : snap->ports) {
    const std::string peer = r.peer.ToString();
    const std::string state(probes::PortStateName(r.state));
    if (r.state == probes::PortState::kUnprobed && !config_.probes.tcp.connect_mode) {
      success = false;
      error = r.reason;
    }
    auto it = last_port_state_.find(peer);
    if (it == last_port_state_.end() || it->second != state) {
      logging::Write(
          r.state == probes::PortState::kOpen ? spdlog::level::info : spdlog::level::warn,
          "BGP port state",
          {{"probe", "tcp"}, {"peer", peer}, {"state", state}, {"reason", r.reason}});
    }
    states[peer] = state;
  }
  last_port_state_ = std::move(states);
  if (error != last_tcp_error_ && !error.empty()) {
    logging::Error("TCP probe cannot run", {{"probe", "tcp"}, {"err", error}});
  }
  last_tcp_error_ = error;
  FinishRun(&snap->run, start, success);
  return snap;
}

bool ProbeRounds::BirdHasNoListeningSocket() const {
  const auto snapshot = store_->Get();
  if (!snapshot->bird) {
    return false;
  }
  for (const DaemonSnapshot& d : snapshot->bird->daemons) {
    for (const PeerSnapshot& p : d.peers) {
      if (p.last_error.kind == bird::ErrorKind::kNoListeningSocket) {
        return true;
      }
    }
  }
  return false;
}

std::vector<net::IpAddress> ProbeRounds::TargetAddresses() const {
  std::vector<net::IpAddress> ips;
  for (const auto& t : Targets()) {
    ips.push_back(t.ip);
  }
  return ips;
}

std::shared_ptr<const IcmpSnapshot> ProbeRounds::RunIcmp() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<IcmpSnapshot>();
  snap->run = StartRun("icmp");
  const std::vector<net::IpAddress> ips = TargetAddresses();
  probes::IcmpProbeOptions opts;
  opts.count = config_.probes.icmp.count;
  opts.timeout = config_.probes.icmp.timeout;
  opts.packets_per_second = config_.probes.packets_per_second;
  snap->results = probes::RunIcmpProbe(ips, opts, *clock_);
  std::string error;
  for (const auto& r : snap->results) {
    if (!r.probed) {
      error = r.reason;
    }
  }
  if (error != last_icmp_error_ && !error.empty()) {
    logging::Error("ICMP probe cannot run", {{"probe", "icmp"}, {"err", error}});
  }
  last_icmp_error_ = error;
  FinishRun(&snap->run, start, error.empty());
  return snap;
}

std::shared_ptr<const MtuSnapshot> ProbeRounds::RunMtu() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<MtuSnapshot>();
  snap->run = StartRun("mtu");
  const std::vector<net::IpAddress> ips = TargetAddresses();
  probes::MtuProbeOptions opts;
  opts.timeout = config_.probes.mtu.timeout;
  opts.max_steps = config_.probes.mtu.max_steps;
  opts.packets_per_second = config_.probes.packets_per_second;
  snap->results = probes::RunMtuProbe(ips, opts, *clock_);
  std::optional<int> underlay_v4;
  std::optional<int> underlay_v6;
  for (const auto& r : snap->results) {
    if (!r.interface_mtu) {
      continue;
    }
    auto& underlay = r.peer.is_v6() ? underlay_v6 : underlay_v4;
    underlay = std::min(underlay.value_or(*r.interface_mtu), *r.interface_mtu);
  }
  snap->tunnels = probes::CheckTunnels(underlay_v4, underlay_v6, net::InterfaceMtu);
  for (const auto& t : snap->tunnels) {
    if (t.fits == false) {
      logging::Warn("tunnel MTU does not fit the underlay",
                    {{"probe", "mtu"},
                     {"interface", t.interface},
                     {"mtu", std::to_string(t.mtu)},
                     {"underlay_mtu", std::to_string(t.underlay_mtu.value_or(0))}});
    }
  }
  // The probe fails when it cannot run (no socket), not when a peer has no route.
  bool success = true;
  for (const auto& r : snap->results) {
    success = success && r.reason.find("socket") == std::string::npos;
  }
  FinishRun(&snap->run, start, success);
  return snap;
}

std::shared_ptr<const ListenerSnapshot> ProbeRounds::RunListener() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<ListenerSnapshot>();
  snap->run = StartRun("listener");
  // Who holds the port is looked up (a walk over every process's descriptors) only when BIRD
  // says it could not open its listening socket.
  snap->result =
      probes::ProbeListener(config_.probes.tcp.port, "/proc", BirdHasNoListeningSocket());
  const std::string now = std::string(snap->result.ipv4 ? "ipv4 " : "") +
                          (snap->result.ipv6 ? "ipv6" : "") + "|" + snap->result.error;
  if (now != last_listener_) {
    logging::Write(
        snap->result.ipv4 || snap->result.ipv6 ? spdlog::level::info : spdlog::level::warn,
        "local BGP listener",
        {{"probe", "listener"},
         {"port", std::to_string(config_.probes.tcp.port)},
         {"ipv4", snap->result.ipv4 ? "listening" : "no"},
         {"ipv6", snap->result.ipv6 ? "listening" : "no"},
         {"err", snap->result.error}});
  }
  last_listener_ = now;
  FinishRun(&snap->run, start, snap->result.error.empty());
  return snap;
}

std::shared_ptr<const ClockSnapshot> ProbeRounds::RunClock() {
  const auto start = clock_->Monotonic();
  auto snap = std::make_shared<ClockSnapshot>();
  snap->run = StartRun("clock");
  probes::ClockRoundOptions opts;
  const ClockConfig& c = config_.clock;
  opts.ntp_servers = c.ntp_servers;
  opts.chrony_enabled = c.chrony_enabled;
  opts.chrony_address = c.chrony_address;
  opts.peer_offset_enabled = c.peer_offset_enabled;
  opts.timeout = c.timeout;
  opts.packets_per_second = config_.probes.packets_per_second;
  const std::vector<net::IpAddress> ips =
      c.peer_offset_enabled ? TargetAddresses() : std::vector<net::IpAddress>();
  snap->result = probes::RunClockRound(opts, ips, *clock_);
  const auto& r = snap->result;
  // Log what changed: the kernel's sync state, NTP servers and chrony going up or down.
  std::string summary = r.kernel ? (r.kernel->synchronized ? "kernel synced" : "kernel unsynced")
                                 : "kernel unknown: " + r.kernel_error;
  for (const auto& n : r.ntp) {
    summary += "; ntp " + n.server + (n.up ? " up" : " down: " + n.reason);
  }
  if (r.chrony_enabled) {
    summary += r.chrony ? "; chrony up" : "; chrony down: " + r.chrony_error;
  }
  if (summary != last_clock_) {
    logging::Info("clock state", {{"probe", "clock"}, {"state", summary}});
  }
  last_clock_ = summary;
  bool success = r.kernel.has_value();
  for (const auto& p : r.peers) {
    success = success && (p.probed || p.peer.is_v6());
  }
  FinishRun(&snap->run, start, success);
  return snap;
}

}  // namespace cbe
