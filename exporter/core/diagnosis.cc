#include "exporter/core/diagnosis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

#include "exporter/config/config.h"

namespace cbe {
namespace {

std::string Format(double v, int precision = 3) {
  std::ostringstream out;
  out.precision(precision);
  out << v;
  return out.str();
}

}  // namespace

std::string_view CauseName(Cause cause) {
  switch (cause) {
    case Cause::kHealthy:
      return "healthy";
    case Cause::kBirdDown:
      return "bird_down";
    case Cause::kAdminDown:
      return "admin_down";
    case Cause::kAsMismatch:
      return "as_mismatch";
    case Cause::kRouterIdConflict:
      return "router_id_conflict";
    case Cause::kHoldTimerExpiredMtu:
      return "hold_timer_expired_mtu";
    case Cause::kHoldTimerExpired:
      return "hold_timer_expired";
    case Cause::kPeerUnreachable:
      return "peer_unreachable";
    case Cause::kPortFiltered:
      return "port_filtered";
    case Cause::kPortClosed:
      return "port_closed";
    case Cause::kLocalNotListening:
      return "local_not_listening";
    case Cause::kClockSkew:
      return "clock_skew";
    case Cause::kNegotiating:
      return "negotiating";
    case Cause::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view NextStep(Cause cause) {
  switch (cause) {
    case Cause::kHealthy:
      return "nothing to do";
    case Cause::kBirdDown:
      return "this node's BIRD is not answering: check the calico-node pod (logs, restarts, "
             "/var/run/calico mount)";
    case Cause::kAdminDown:
      return "the protocol was disabled by an operator: `birdc enable <protocol>` once the "
             "reason is gone";
    case Cause::kAsMismatch:
      return "the AS numbers of the two ends disagree: fix the BGPPeer asNumber or the node's "
             "AS (calicoctl get node -o yaml) on the side whose error class is 'BGP Error'";
    case Cause::kRouterIdConflict:
      return "two nodes use the same router ID: give each node a unique routerID "
             "(calicoctl get node -o yaml, spec.bgp.routerID / IPv4 address)";
    case Cause::kHoldTimerExpiredMtu:
      return "keepalives lost after large UPDATEs: path MTU is below the interface MTU; fix "
             "the MTU along the path or allow ICMP fragmentation-needed";
    case Cause::kHoldTimerExpired:
      return "keepalives stopped arriving: check packet loss, CPU load of BIRD on both ends, "
             "and the path between them";
    case Cause::kPeerUnreachable:
      return "the peer cannot be reached at all: check routing to the peer address, that the "
             "peer host is up, and the peer IP in the BGPPeer";
    case Cause::kPortFiltered:
      return "a firewall drops or rejects TCP 179 to the peer: allow BGP (tcp/179) between the "
             "nodes (host firewall, security groups, NetworkPolicy for host endpoints)";
    case Cause::kPortClosed:
      return "nothing listens on the peer's port 179: the peer's BIRD is down or uses another "
             "port; check calico-node on the peer";
    case Cause::kLocalNotListening:
      return "this node does not listen on port 179: the peer cannot connect; check this "
             "node's BIRD (listen address, port) and calico-node";
    case Cause::kClockSkew:
      return "the clocks disagree beyond clock.max_offset: fix NTP/chrony on the node or the "
             "peer";
    case Cause::kNegotiating:
      return "the session is being set up or just changed: wait one or two rounds";
    case Cause::kUnknown:
      return "no evidence points to a cause: read BIRD's log and `birdc show protocols all "
             "<protocol>` on both ends";
  }
  return "";
}

const std::vector<Cause>& AllCauses() {
  static const std::vector<Cause> kAll = {Cause::kHealthy,           Cause::kBirdDown,
                                          Cause::kAdminDown,         Cause::kAsMismatch,
                                          Cause::kRouterIdConflict,  Cause::kHoldTimerExpiredMtu,
                                          Cause::kHoldTimerExpired,  Cause::kPeerUnreachable,
                                          Cause::kPortFiltered,      Cause::kPortClosed,
                                          Cause::kLocalNotListening, Cause::kClockSkew,
                                          Cause::kNegotiating,       Cause::kUnknown};
  return kAll;
}

Diagnosis Diagnose(const Evidence& e) {
  Diagnosis d;
  const auto cause = [&](Cause c, std::string evidence) {
    d.cause = c;
    d.evidence = std::move(evidence);
    return d;
  };
  // 1. BIRD itself.
  if (!e.bird_up) {
    return cause(Cause::kBirdDown, "BIRD's control socket does not answer");
  }
  // 2. A working session.
  if (e.bgp_state == "Established") {
    return cause(Cause::kHealthy, "Established");
  }
  // 3. What BIRD says. An operator's `disable` leaves the protocol down with no error.
  if (e.protocol_state == "down" && e.last_error.empty()) {
    return cause(Cause::kAdminDown, "protocol state down, no error: disabled");
  }
  const bird::LastError& bgp_error = e.bgp_error.empty() ? e.last_error : e.bgp_error;
  switch (bgp_error.kind) {
    case bird::ErrorKind::kBadPeerAs:
      return cause(Cause::kAsMismatch, "last error: " + bgp_error.Text());
    case bird::ErrorKind::kBadBgpIdentifier:
      return cause(Cause::kRouterIdConflict, "last error: " + bgp_error.Text());
    case bird::ErrorKind::kHoldTimerExpired:
      if (e.path_mtu && e.interface_mtu && *e.path_mtu < *e.interface_mtu) {
        return cause(Cause::kHoldTimerExpiredMtu, "last error: " + bgp_error.Text() +
                                                      "; path MTU " + std::to_string(*e.path_mtu) +
                                                      " < interface MTU " +
                                                      std::to_string(*e.interface_mtu));
      }
      return cause(Cause::kHoldTimerExpired, "last error: " + bgp_error.Text());
    default:
      break;
  }
  // 4. Reachability of the peer and of its port, from the probes.
  const bool icmp_all_lost = e.icmp_loss_ratio && *e.icmp_loss_ratio >= 1.0;
  if (e.port == probes::PortState::kUnreachable) {
    return cause(Cause::kPeerUnreachable, "port 179: " + e.port_reason);
  }
  if (e.port == probes::PortState::kFiltered && icmp_all_lost) {
    return cause(Cause::kPeerUnreachable,
                 "port 179 " + e.port_reason + " and no ICMP echo answered");
  }
  // 5. This node: a passive session waits for a peer that cannot connect to us.
  if (e.local_listener == false &&
      (e.bgp_state == "Passive" || e.port == probes::PortState::kOpen)) {
    return cause(Cause::kLocalNotListening,
                 "nothing listens on port 179 on this node; session " + e.bgp_state);
  }
  if (e.port == probes::PortState::kFiltered) {
    return cause(
        Cause::kPortFiltered,
        "port 179: " + e.port_reason + (e.icmp_loss_ratio ? "; the peer answers ICMP echo" : ""));
  }
  if (e.port == probes::PortState::kClosed) {
    return cause(Cause::kPortClosed,
                 "port 179: " + e.port_reason +
                     (e.last_error.empty() ? "" : "; last error: " + e.last_error.Text()));
  }
  // 6. Clocks, only when measured: an unsynchronised flag alone proves nothing.
  const double max = e.max_clock_offset_seconds;
  if (e.peer_clock_offset_seconds && std::fabs(*e.peer_clock_offset_seconds) > max) {
    return cause(Cause::kClockSkew, "peer clock offset " + Format(*e.peer_clock_offset_seconds) +
                                        " s exceeds " + Format(max) + " s");
  }
  if (e.ntp_offset_seconds && std::fabs(*e.ntp_offset_seconds) > max) {
    return cause(Cause::kClockSkew, "clock offset to NTP " + Format(*e.ntp_offset_seconds) +
                                        " s exceeds " + Format(max) + " s");
  }
  // 7. In the middle of a handshake, or a change too recent to judge.
  if (e.bgp_state == "OpenSent" || e.bgp_state == "OpenConfirm") {
    return cause(Cause::kNegotiating, "BGP state " + e.bgp_state);
  }
  if (e.state_age_seconds && *e.state_age_seconds < e.negotiating_window_seconds) {
    return cause(Cause::kNegotiating,
                 "state changed " + Format(*e.state_age_seconds, 2) + " s ago");
  }
  std::string raw = "state " + e.protocol_state + "/" + e.bgp_state;
  if (!e.last_error.empty()) {
    raw += ", last error: " + e.last_error.Text();
  }
  raw += ", port 179: " + (e.port ? std::string(probes::PortStateName(*e.port)) : "not probed");
  if (e.icmp_loss_ratio) {
    raw += ", ICMP loss " + Format(*e.icmp_loss_ratio, 2);
  }
  return cause(Cause::kUnknown, raw);
}

DiagnosisOptions DiagnosisOptionsFor(const Config& config) {
  DiagnosisOptions o;
  o.max_clock_offset_seconds = std::chrono::duration<double>(config.clock.max_offset).count();
  // A change younger than two rounds of the slowest of BIRD and the port probe is too recent.
  const auto round = std::max(config.bird.interval, config.probes.tcp.interval);
  o.negotiating_window_seconds = std::chrono::duration<double>(2 * round).count();
  return o;
}

std::vector<PeerDiagnosis> DiagnoseSnapshot(const Snapshot& snapshot,
                                            const DiagnosisOptions& options, double now_unix) {
  std::vector<PeerDiagnosis> out;
  if (!snapshot.bird) {
    return out;
  }
  std::size_t sessions = 0;
  for (const DaemonSnapshot& d : snapshot.bird->daemons) {
    sessions += d.up ? d.peers.size() : d.last_known_peers.size();
  }
  out.reserve(sessions);
  std::map<std::string, const probes::PortResult*> ports;
  if (snapshot.tcp) {
    for (const auto& r : snapshot.tcp->ports) {
      ports[r.peer.ToString()] = &r;
    }
  }
  std::map<std::string, const probes::IcmpResult*> icmp;
  if (snapshot.icmp) {
    for (const auto& r : snapshot.icmp->results) {
      icmp[r.peer.ToString()] = &r;
    }
  }
  std::map<std::string, const probes::MtuResult*> mtu;
  if (snapshot.mtu) {
    for (const auto& r : snapshot.mtu->results) {
      mtu[r.peer.ToString()] = &r;
    }
  }
  // Clock evidence: each peer's offset, and the worst measured offset to NTP or chrony.
  std::map<std::string, double> peer_clock;
  std::optional<double> reference_offset;
  if (snapshot.clock) {
    const auto& c = snapshot.clock->result;
    for (const auto& p : c.peers) {
      if (p.offset_seconds) {
        peer_clock[p.peer.ToString()] = *p.offset_seconds;
      }
    }
    const auto worst = [&](double v) {
      if (!reference_offset || std::fabs(v) > std::fabs(*reference_offset)) {
        reference_offset = v;
      }
    };
    for (const auto& n : c.ntp) {
      if (n.offset_seconds) {
        worst(*n.offset_seconds);
      }
    }
    if (c.chrony) {
      worst(c.chrony->offset_seconds);
    }
  }
  for (const DaemonSnapshot& d : snapshot.bird->daemons) {
    if (!d.up) {
      for (const PeerSnapshot& p : d.last_known_peers) {
        PeerDiagnosis pd{d.daemon, p.protocol, p.peer, p.peer_type, "", std::nullopt, "", {}};
        Evidence e;
        e.bird_up = false;
        pd.diagnosis = Diagnose(e);
        out.push_back(std::move(pd));
      }
      continue;
    }
    for (const PeerSnapshot& p : d.peers) {
      Evidence e;
      e.protocol_state = p.protocol_state;
      e.bgp_state = p.state;
      e.last_error = p.last_error;
      e.bgp_error = p.bgp_error;
      if (p.state_change_timestamp) {
        e.state_age_seconds = now_unix - *p.state_change_timestamp;
      }
      const std::string peer = p.peer.substr(0, p.peer.find('%'));
      if (auto it = ports.find(peer);
          it != ports.end() && it->second->state != probes::PortState::kUnprobed) {
        e.port = it->second->state;
        e.port_reason = it->second->reason;
      }
      if (auto it = icmp.find(peer); it != icmp.end() && it->second->probed) {
        e.icmp_loss_ratio = it->second->loss_ratio();
      }
      if (auto it = mtu.find(peer); it != mtu.end()) {
        e.interface_mtu = it->second->interface_mtu;
        e.path_mtu = it->second->path_mtu;
      }
      if (snapshot.listener) {
        const bool v6 = peer.find(':') != std::string::npos;
        const auto& l = snapshot.listener->result;
        if (v6 ? l.ipv6_known : l.ipv4_known) {
          // Per family: BIRD's IPv6 sockets are IPV6_V6ONLY, so [::]:179 takes no IPv4.
          e.local_listener = v6 ? l.ipv6 : l.ipv4;
        }
      }
      if (auto it = peer_clock.find(peer); it != peer_clock.end()) {
        e.peer_clock_offset_seconds = it->second;
      }
      e.ntp_offset_seconds = reference_offset;
      e.max_clock_offset_seconds = options.max_clock_offset_seconds;
      e.negotiating_window_seconds = options.negotiating_window_seconds;
      PeerDiagnosis pd{d.daemon,
                       p.protocol,
                       p.peer,
                       p.peer_type,
                       p.state,
                       p.state_change_timestamp,
                       e.last_error.Text(),
                       Diagnose(e)};
      out.push_back(std::move(pd));
    }
  }
  return out;
}

}  // namespace cbe
