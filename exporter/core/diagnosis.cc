#include "exporter/core/diagnosis.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "exporter/base/duration.h"
#include "exporter/base/node_address.h"
#include "exporter/config/config.h"
#include "probes/clock/clock_probe.h"
#include "probes/icmp_probe.h"
#include "probes/listener_probe.h"
#include "probes/mtu_probe.h"
#include "probes/tcp_syn_probe.h"

namespace cbe {
namespace {

// `v` with `precision` significant digits, as printf's %g writes it (and an ostream with that
// precision): "0.25", "1.5e+03". No stream: this runs for every session that just changed
// state, every round.
std::string Format(double v, int precision = 3) {
  char buf[32];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, precision);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

// The pieces joined with one allocation. The evidence of every session that is not healthy is
// written every derivation: a chain of operator+ allocated once per piece, and the copies of the
// diagnosis with it were a tenth of a round's instructions at 1000 sessions half down.
std::string Cat(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (const std::string_view p : pieces) {
    size += p.size();
  }
  std::string out;
  out.reserve(size);
  for (const std::string_view p : pieces) {
    out.append(p);
  }
  return out;
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
    case Cause::kSessionMissing:
      return "session_missing";
    case Cause::kUnexpectedSession:
      return "unexpected_session";
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
    case Cause::kListenSocket:
      return "listen_socket";
    case Cause::kNoRoutes:
      return "no_routes";
    case Cause::kNodeAddress:
      return "node_address";
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
    case Cause::kSessionMissing:
      return "Calico asks for this session but BIRD does not run it: confd has not rendered it or "
             "BIRD has not reloaded; check confd's log in calico-node and `birdc show protocols`, "
             "then restart calico-node";
    case Cause::kUnexpectedSession:
      return "BIRD runs a session no Calico configuration asks for any more (a stale BIRD config "
             "or a hand-made protocol): check the BGPPeers and confd's rendered config, then "
             "restart calico-node to reload it";
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
    case Cause::kListenSocket:
      return "this node's BIRD cannot open its BGP port: another process holds it (ss -ltnp "
             "'sport = :179' names it); stop it or move it, then restart calico-node";
    case Cause::kNodeAddress:
      return "this node's BGP address is on the wrong interface: set IP_AUTODETECTION_METHOD "
             "of calico-node (interface=, can-reach=) or the node's spec.bgp.ipv4Address, "
             "then restart calico-node";
    case Cause::kNoRoutes:
      return "the session is up but carries no routes: check the BGP filters and IP pools "
             "(calicoctl get ippool -o wide, disabled or not exported) and `birdc show route "
             "protocol <protocol>`";
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
  static const std::vector<Cause> kAll = {Cause::kHealthy,
                                          Cause::kBirdDown,
                                          Cause::kAdminDown,
                                          Cause::kSessionMissing,
                                          Cause::kUnexpectedSession,
                                          Cause::kAsMismatch,
                                          Cause::kRouterIdConflict,
                                          Cause::kHoldTimerExpiredMtu,
                                          Cause::kHoldTimerExpired,
                                          Cause::kPeerUnreachable,
                                          Cause::kPortFiltered,
                                          Cause::kPortClosed,
                                          Cause::kLocalNotListening,
                                          Cause::kListenSocket,
                                          Cause::kNoRoutes,
                                          Cause::kNodeAddress,
                                          Cause::kClockSkew,
                                          Cause::kNegotiating,
                                          Cause::kUnknown};
  return kAll;
}

namespace {

using Found = std::optional<Diagnosis>;

Diagnosis Make(Cause cause, std::string evidence) { return Diagnosis{cause, std::move(evidence)}; }

std::string Port(const Evidence& e) { return "port " + std::to_string(e.port_number); }

// Who holds the BGP port, as far as the listener probe could tell.
std::string ListenerHolders(const Evidence& e) {
  if (e.listener_holders.empty()) {
    return "";
  }
  if (e.listener_holders == kHoldersNone) {
    return "; nothing listens on " + Port(e) + " now";
  }
  if (e.listener_holders == kHoldersHidden) {
    return "; a process this exporter cannot see holds " + Port(e) +
           " (`ss -ltnp 'sport = :" + std::to_string(e.port_number) +
           "'` as root on the node names it)";
  }
  return "; " + Port(e) + " is held by " + e.listener_holders;
}

// A hold timer expiry: behind an MTU black hole when the path MTU is below the interface's; a
// sender that had data queued (BIRD 3's TX pending) when it was last up says so too.
Diagnosis HoldTimerExpired(const Evidence& e, const bird::LastError& bgp_error) {
  std::string evidence = "last error: " + bgp_error.Text();
  if (e.tx_pending_when_last_up.value_or(0) > 0) {
    evidence += "; " + std::to_string(*e.tx_pending_when_last_up) +
                " bytes were pending to the peer when the session was last up";
  }
  if (e.path_mtu && e.interface_mtu && *e.path_mtu < *e.interface_mtu) {
    return Make(Cause::kHoldTimerExpiredMtu, evidence + "; path MTU " +
                                                 std::to_string(*e.path_mtu) + " < interface MTU " +
                                                 std::to_string(*e.interface_mtu));
  }
  return Make(Cause::kHoldTimerExpired, evidence);
}

// 1-3: BIRD itself, a working session, and what BIRD says went wrong at the BGP level.
Found FromBird(const Evidence& e) {
  if (!e.bird_up) {
    return Make(Cause::kBirdDown, "BIRD's control socket does not answer");
  }
  if (e.bgp_state == "Established") {
    const bool empty = e.routes_imported == 0 && e.routes_exported == 0;
    if (e.no_routes_applies && empty && e.state_age_seconds &&
        *e.state_age_seconds >= e.no_routes_after_seconds) {
      return Make(Cause::kNoRoutes, "Established for " + FormatAge(*e.state_age_seconds) +
                                        " with 0 routes imported and 0 exported");
    }
    return Make(Cause::kHealthy, "Established");
  }
  // An operator's `disable` leaves the protocol down with no error.
  if (e.protocol_state == "down" && e.last_error.empty()) {
    return Make(Cause::kAdminDown, "protocol state down, no error: disabled");
  }
  // What is wrong with a session Calico no longer asks for does not matter: its config does.
  if (e.unexpected) {
    return Make(Cause::kUnexpectedSession, "intent: " + e.unexpected_detail);
  }
  const bird::LastError& bgp_error = e.bgp_error.empty() ? e.last_error : e.bgp_error;
  switch (bgp_error.kind) {
    case bird::ErrorKind::kBadPeerAs:
      return Make(Cause::kAsMismatch, "last error: " + bgp_error.Text());
    case bird::ErrorKind::kBadBgpIdentifier:
      return Make(Cause::kRouterIdConflict, "last error: " + bgp_error.Text());
    case bird::ErrorKind::kHoldTimerExpired:
      return HoldTimerExpired(e, bgp_error);
    default:
      break;
  }
  if (!e.node_address_problem.empty()) {
    return Make(Cause::kNodeAddress, e.node_address_problem);
  }
  if (e.last_error.kind == bird::ErrorKind::kNoListeningSocket) {
    return Make(Cause::kListenSocket, "BIRD: last error: " + e.last_error.Text() +
                                          ": BIRD could not open its listening socket" +
                                          ListenerHolders(e));
  }
  return std::nullopt;
}

// The cause BIRD's own socket errors point to, or nullopt.
std::optional<Cause> BirdSocketCause(const Evidence& e) {
  switch (e.last_error.kind) {
    case bird::ErrorKind::kConnectionRefused:
      return Cause::kPortClosed;
    case bird::ErrorKind::kNoRouteToHost:
    case bird::ErrorKind::kNetworkUnreachable:
      return Cause::kPeerUnreachable;
    case bird::ErrorKind::kConnectionTimedOut:
      return Cause::kPortFiltered;
    default:
      return std::nullopt;
  }
}

// A probe decided: BIRD's last error, where it points elsewhere, is shown beside it.
Diagnosis ByProbe(const Evidence& e, Cause cause, std::string evidence) {
  if (auto bird = BirdSocketCause(e); bird && *bird != cause) {
    evidence += "; BIRD disagrees: last error: " + e.last_error.Text();
  }
  return Make(cause, std::move(evidence));
}

// 4-5: reachability of the peer and of its port from the probes, and this node's listener.
Found FromProbes(const Evidence& e) {
  const bool icmp_all_lost = e.icmp_loss_ratio && *e.icmp_loss_ratio >= 1.0;
  if (e.port == probes::PortState::kUnreachable) {
    return ByProbe(e, Cause::kPeerUnreachable, Port(e) + ": " + e.port_reason);
  }
  if (e.port == probes::PortState::kFiltered && icmp_all_lost) {
    return ByProbe(e, Cause::kPeerUnreachable,
                   Port(e) + " " + e.port_reason + " and no ICMP echo answered");
  }
  // A passive session waits for a peer that cannot connect to us.
  if (e.local_listener == false &&
      (e.bgp_state == "Passive" || e.port == probes::PortState::kOpen)) {
    return Make(Cause::kLocalNotListening,
                Cat({"nothing listens on ", Port(e), " on this node; session ", e.bgp_state}));
  }
  if (e.port == probes::PortState::kFiltered) {
    return ByProbe(
        e, Cause::kPortFiltered,
        Port(e) + ": " + e.port_reason + (e.icmp_loss_ratio ? "; the peer answers ICMP echo" : ""));
  }
  if (e.port == probes::PortState::kClosed) {
    return ByProbe(e, Cause::kPortClosed,
                   Port(e) + ": " + e.port_reason +
                       (e.last_error.empty() ? "" : "; last error: " + e.last_error.Text()));
  }
  return std::nullopt;
}

// 6: without a port probe, what BIRD's own connection attempts found.
Found FromBirdSocket(const Evidence& e) {
  if (e.port) {
    return std::nullopt;
  }
  // Half the sessions of a broken mesh come here every round.
  char digits[12];
  const std::string_view port(
      digits, static_cast<std::size_t>(
                  std::to_chars(digits, digits + sizeof digits, e.port_number).ptr - digits));
  if (auto cause = BirdSocketCause(e)) {
    // A socket error is never empty: its text is "<class>: <message>" (LastError::Text()).
    return Make(*cause,
                Cat({"BIRD: last error: ", e.last_error.class_text, ": ", e.last_error.message,
                     *cause == Cause::kPortFiltered ? ": filtered or unreachable" : "", "; port ",
                     port, " not probed"}));
  }
  // BIRD in Connect with no error for long: its connect attempts time out without an answer
  // (a DROP leaves no error at all).
  if (e.bgp_state == "Connect" && e.last_error.empty() && e.state_age_seconds &&
      *e.state_age_seconds >= e.negotiating_window_seconds) {
    return Make(Cause::kPortFiltered,
                Cat({"BIRD: in Connect for ", FormatAge(*e.state_age_seconds),
                     " without an answer: filtered or unreachable; port ", port, " not probed"}));
  }
  return std::nullopt;
}

// 7: clocks, only when measured: an unsynchronised flag alone proves nothing.
Found FromClocks(const Evidence& e) {
  const double max = e.max_clock_offset_seconds;
  if (e.peer_clock_offset_seconds && std::fabs(*e.peer_clock_offset_seconds) > max) {
    return Make(Cause::kClockSkew, "peer clock offset " + Format(*e.peer_clock_offset_seconds) +
                                       " s exceeds " + Format(max) + " s");
  }
  if (e.ntp_offset_seconds && std::fabs(*e.ntp_offset_seconds) > max) {
    return Make(Cause::kClockSkew, "clock offset to NTP " + Format(*e.ntp_offset_seconds) +
                                       " s exceeds " + Format(max) + " s");
  }
  return std::nullopt;
}

// 8: in the middle of a handshake, or a change too recent to judge.
Found FromTiming(const Evidence& e) {
  if (e.bgp_state == "OpenSent" || e.bgp_state == "OpenConfirm") {
    return Make(Cause::kNegotiating, Cat({"BGP state ", e.bgp_state}));
  }
  if (e.state_age_seconds && *e.state_age_seconds < e.negotiating_window_seconds) {
    return Make(Cause::kNegotiating,
                Cat({"state changed ", Format(*e.state_age_seconds, 2), " s ago"}));
  }
  return std::nullopt;
}

// 9: nothing matched: the raw evidence.
Diagnosis Unknown(const Evidence& e) {
  std::string raw = Cat({"state ", e.protocol_state, "/", e.bgp_state});
  if (!e.last_error.empty()) {
    raw += ", last error: " + e.last_error.Text();
  }
  raw +=
      ", " + Port(e) + ": " + (e.port ? std::string(probes::PortStateName(*e.port)) : "not probed");
  if (e.icmp_loss_ratio) {
    raw += ", ICMP loss " + Format(*e.icmp_loss_ratio, 2);
  }
  return Make(Cause::kUnknown, raw);
}

}  // namespace

Diagnosis Diagnose(const Evidence& e) {
  for (Found (*step)(const Evidence&) :
       {FromBird, FromProbes, FromBirdSocket, FromClocks, FromTiming}) {
    if (Found d = step(e)) {
      return std::move(*d);
    }
  }
  return Unknown(e);
}

DiagnosisOptions DiagnosisOptionsFor(const Config& config) {
  DiagnosisOptions o;
  o.max_clock_offset_seconds =
      std::chrono::duration<double>(config.probes.Get<probes::ClockSettings>().max_offset).count();
  // A change younger than two rounds of the slowest of BIRD and the port probe is too recent.
  const auto& tcp = config.probes.Get<probes::TcpSettings>();
  const auto round = std::max(config.bird.interval, tcp.interval);
  o.negotiating_window_seconds = std::chrono::duration<double>(2 * round).count();
  o.port_number = tcp.port;
  o.no_routes_after_seconds =
      std::chrono::duration<double>(config.diagnosis.no_routes_after).count();
  o.no_routes_peer_types = config.diagnosis.no_routes_peer_types;
  return o;
}

namespace {

// One probe's results by peer address, sorted: a binary search per session, and no string or
// tree node per peer (the index is built for every diagnosis, after every round).
template <typename V>
class PeerIndex {
 public:
  void Reserve(std::size_t n) { entries_.reserve(n); }
  bool empty() const { return entries_.empty(); }
  void Add(const net::IpAddress& peer, V value) { entries_.emplace_back(peer, value); }
  // Sorts; of equal addresses the one added last stands.
  void Seal() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  const V* Find(const net::IpAddress& peer) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), peer,
                               [](const net::IpAddress& k, const auto& e) { return k < e.first; });
    if (it == entries_.begin() || std::prev(it)->first != peer) {
      return nullptr;
    }
    return &std::prev(it)->second;
  }

 private:
  std::vector<std::pair<net::IpAddress, V>> entries_;
};

// The probes' results of one snapshot by peer address, looked up once per session.
struct ProbeIndex {
  PeerIndex<const probes::PortResult*> ports;
  PeerIndex<const probes::IcmpResult*> icmp;
  PeerIndex<const probes::MtuResult*> mtu;
  PeerIndex<double> peer_clock;
  std::optional<double> reference_offset;  // The worst measured offset to NTP or chrony.
  const probes::ListenerSnapshot* listener = nullptr;
  // No result by address: a session's peer address need not be parsed.
  bool by_address_empty() const {
    return ports.empty() && icmp.empty() && mtu.empty() && peer_clock.empty();
  }
};

template <typename R>
void IndexByPeer(const std::vector<R>& results, PeerIndex<const R*>* out) {
  out->Reserve(results.size());
  for (const R& r : results) {
    out->Add(r.peer, &r);
  }
  out->Seal();
}

void IndexClock(const probes::ClockRoundResult& c, ProbeIndex* index) {
  for (const auto& p : c.peers) {
    if (p.offset_seconds) {
      index->peer_clock.Add(p.peer, *p.offset_seconds);
    }
  }
  index->peer_clock.Seal();
  const auto worst = [&](double v) {
    if (!index->reference_offset || std::fabs(v) > std::fabs(*index->reference_offset)) {
      index->reference_offset = v;
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

ProbeIndex IndexProbes(const Snapshot& snapshot) {
  ProbeIndex index;
  if (const auto* tcp = snapshot.Probe<probes::TcpSnapshot>()) {
    IndexByPeer(tcp->ports, &index.ports);
  }
  if (const auto* icmp = snapshot.Probe<probes::IcmpSnapshot>()) {
    IndexByPeer(icmp->results, &index.icmp);
  }
  if (const auto* mtu = snapshot.Probe<probes::MtuSnapshot>()) {
    IndexByPeer(mtu->results, &index.mtu);
  }
  if (const auto* clock = snapshot.Probe<probes::ClockSnapshot>()) {
    IndexClock(clock->result, &index);
  }
  index.listener = snapshot.Probe<probes::ListenerSnapshot>();
  return index;
}

// Why this node's `address` (its router ID or a session's source address) cannot be right: the
// address itself, or the interface that holds it; "" when it may be right.
std::string AddressProblem(const DaemonSnapshot& d, const std::string& address,
                           std::string_view role) {
  const auto explained = [&](const std::string& problem) {
    return "this node's " + std::string(role) + " " + address + " is " + problem;
  };
  if (std::string problem = SuspiciousNodeAddress(address); !problem.empty()) {
    return explained(problem);
  }
  const auto a = std::lower_bound(
      d.local_addresses.begin(), d.local_addresses.end(), address,
      [](const LocalAddress& l, const std::string& wanted) { return l.address < wanted; });
  if (a != d.local_addresses.end() && a->address == address && a->found) {
    if (std::string problem = SuspiciousNodeInterface(a->interface, a->kind, a->loopback);
        !problem.empty()) {
      return explained(problem);
    }
  }
  return "";
}

// BIRD prints a session's source address only while it is Established; the node's address of a
// family is the same for all its sessions (Calico renders `source address <node IP>`): a wrong
// one seen on a working session explains the failing sessions of that family.
std::string SourceAddressProblem(const DaemonSnapshot& d, bool v6) {
  std::set<std::string_view> checked;
  std::string_view last;  // Most sessions in a row share it: one set lookup for them.
  for (const PeerSnapshot& p : d.peers) {
    if (p.source_address.empty() || p.source_address == last) {
      continue;
    }
    last = p.source_address;
    if ((p.source_address.find(':') != std::string::npos) == v6 &&
        checked.insert(p.source_address).second) {
      if (std::string problem = AddressProblem(d, p.source_address.str(), "BGP source address");
          !problem.empty()) {
        return problem;
      }
    }
  }
  return "";
}

// What BIRD says of the session.
void AddBirdEvidence(const PeerSnapshot& p, double now_unix, Evidence* e) {
  e->protocol_state = p.protocol_state;
  e->bgp_state = p.state;
  e->last_error = p.last_error;
  e->bgp_error = p.bgp_error;
  e->tx_pending_when_last_up = p.tx_pending_when_last_up;
  e->peer_type = p.peer_type;
  e->routes_imported = p.routes.imported;
  e->routes_exported = p.routes.exported;
  if (p.state_change_timestamp) {
    e->state_age_seconds = now_unix - *p.state_change_timestamp;
  }
}

// What the probes measured for the session's peer address (scope suffix "%eth0" dropped).
void AddProbeEvidence(std::string_view address, const ProbeIndex& index, Evidence* e) {
  const std::string_view peer = address.substr(0, address.find('%'));
  const std::optional<net::IpAddress> ip =
      index.by_address_empty() ? std::nullopt : net::IpAddress::Parse(peer);
  if (ip) {
    if (const auto* port = index.ports.Find(*ip);
        port != nullptr && (*port)->state != probes::PortState::kUnprobed) {
      e->port = (*port)->state;
      e->port_reason = (*port)->reason;
    }
    if (const auto* icmp = index.icmp.Find(*ip); icmp != nullptr && (*icmp)->probed) {
      e->icmp_loss_ratio = (*icmp)->loss_ratio();
    }
    if (const auto* mtu = index.mtu.Find(*ip); mtu != nullptr) {
      e->interface_mtu = (*mtu)->interface_mtu;
      e->path_mtu = (*mtu)->path_mtu;
    }
    if (const double* offset = index.peer_clock.Find(*ip); offset != nullptr) {
      e->peer_clock_offset_seconds = *offset;
    }
  }
  if (index.listener != nullptr) {
    const bool v6 = peer.find(':') != std::string_view::npos;
    const auto& l = index.listener->result;
    if (v6 ? l.ipv6_known : l.ipv4_known) {
      // Per family: BIRD's IPv6 sockets are IPV6_V6ONLY, so [::]:179 takes no IPv4.
      e->local_listener = v6 ? l.ipv6 : l.ipv4;
    }
    const auto& holders = v6 ? l.ipv6_holders : l.ipv4_holders;
    const auto& inodes = v6 ? l.ipv6_inodes : l.ipv4_inodes;
    if (holders) {
      e->listener_holders = !holders->empty() ? probes::DescribeHolders(*holders)
                            : inodes.empty()  ? std::string(kHoldersNone)
                                              : std::string(kHoldersHidden);
    }
  }
  e->ntp_offset_seconds = index.reference_offset;
}

void AddOptions(const DiagnosisOptions& options, Evidence* e) {
  e->max_clock_offset_seconds = options.max_clock_offset_seconds;
  e->negotiating_window_seconds = options.negotiating_window_seconds;
  e->no_routes_after_seconds = options.no_routes_after_seconds;
  e->no_routes_applies =
      std::find(options.no_routes_peer_types.begin(), options.no_routes_peer_types.end(),
                e->peer_type) != options.no_routes_peer_types.end();
  e->port_number = options.port_number;
}

}  // namespace

namespace {

// Where a session of `family` runs: bird6 for IPv6 next to a bird (BIRD 1.6 and the fork), the
// one daemon otherwise.
std::string DaemonForFamily(const BirdSnapshot& bird, int family) {
  const auto named = [&](std::string_view name) {
    return std::any_of(bird.daemons.begin(), bird.daemons.end(),
                       [&](const DaemonSnapshot& d) { return d.daemon == name; });
  };
  if (family == 6 && named("bird6")) {
    return "bird6";
  }
  if (named("bird")) {
    return "bird";
  }
  return bird.daemons.empty() ? "bird" : bird.daemons.front().daemon;
}

std::string_view PeerTypeLabel(intent::PeerType t) {
  switch (t) {
    case intent::PeerType::kMesh:
      return "node_mesh";
    case intent::PeerType::kGlobal:
      return "global";
    case intent::PeerType::kNode:
      return "node_specific";
  }
  return "other";
}

std::map<std::string_view, const intent::Session*> SessionsByProtocol(
    const std::vector<intent::Session>& sessions) {
  std::map<std::string_view, const intent::Session*> out;
  for (const intent::Session& s : sessions) {
    out.emplace(s.protocol, &s);
  }
  return out;
}

// The BIRD sessions the diagnosis has a row for (before the missing ones).
std::size_t SessionCount(const Snapshot& snapshot) {
  std::size_t sessions = 0;
  if (snapshot.bird) {
    for (const DaemonSnapshot& d : snapshot.bird->daemons) {
      sessions += d.up ? d.peers.size() : d.last_known_peers.size();
    }
  }
  return sessions;
}

// A row of its own for each session Calico asks for that BIRD does not run.
void AddMissingRows(const Snapshot& snapshot, const IntentComparison& intent,
                    std::vector<PeerDiagnosis>* out) {
  const auto expected = SessionsByProtocol(*snapshot.intent->sessions);
  for (std::size_t i = 0; i < intent.diffs.size(); ++i) {
    const intent::SessionDiff& d = intent.diffs[i];
    if (d.kind != intent::DiffKind::kMissing) {
      continue;
    }
    const auto it = expected.find(d.protocol);
    const std::string peer_type(it != expected.end() ? PeerTypeLabel(it->second->peer_type)
                                                     : "other");
    out->push_back({intent.daemons[i], d.protocol, d.expected_address, peer_type, "", std::nullopt,
                    "", Diagnosis{Cause::kSessionMissing, "intent: " + d.Describe()}});
  }
}

}  // namespace

std::shared_ptr<const IntentComparison> CompareWithIntent(const Snapshot& snapshot) {
  if (!snapshot.intent || !snapshot.intent->sessions || !snapshot.bird) {
    return nullptr;
  }
  std::vector<intent::RunningSession> running;
  std::map<std::string, std::string> daemon_of;  // BIRD protocol -> daemon.
  for (const DaemonSnapshot& d : snapshot.bird->daemons) {
    if (!d.up) {
      return nullptr;  // What a down BIRD runs is unknown: no session is missing for sure.
    }
    for (const PeerSnapshot& p : d.peers) {
      std::uint32_t as = 0;
      std::from_chars(p.neighbor_as.data(), p.neighbor_as.data() + p.neighbor_as.size(), as);
      running.push_back({p.protocol.str(), p.peer.str(), as});
      daemon_of[p.protocol.str()] = d.daemon;
    }
  }
  auto out = std::make_shared<IntentComparison>();
  out->expected = snapshot.intent->sessions->size();
  out->diffs = intent::DiffSessions(*snapshot.intent->sessions, running);
  const auto expected = SessionsByProtocol(*snapshot.intent->sessions);
  for (const intent::SessionDiff& diff : out->diffs) {
    const auto it = daemon_of.find(diff.protocol);
    if (it != daemon_of.end()) {
      out->daemons.push_back(it->second);
      continue;
    }
    const auto session = expected.find(diff.protocol);
    out->daemons.push_back(
        DaemonForFamily(*snapshot.bird, session != expected.end() ? session->second->family : 4));
  }
  return out;
}

NodeAddressProblems FindNodeAddressProblems(const DaemonSnapshot& d) {
  NodeAddressProblems out;
  out.router_id = AddressProblem(d, d.router_id, "router ID");
  // A wrong router ID (Calico: the node's BGP address) explains the sessions of both families.
  for (const bool v6 : {false, true}) {
    out.source[v6 ? 1 : 0] = out.router_id.empty() ? SourceAddressProblem(d, v6) : out.router_id;
  }
  return out;
}

std::shared_ptr<DiagnosisSnapshot> DeriveDiagnosis(
    const Snapshot& snapshot, const DiagnosisOptions& options, double now_unix,
    const std::shared_ptr<VectorRecycler<PeerDiagnosis>>& buffers) {
  std::shared_ptr<DiagnosisSnapshot> d;
  std::vector<PeerDiagnosis> buffer;
  if (buffers) {
    d.reset(new DiagnosisSnapshot, [buffers](DiagnosisSnapshot* s) {
      buffers->Give(std::move(s->peers));
      delete s;
    });
    buffer = buffers->Take(SessionCount(snapshot));
  } else {
    d = std::make_shared<DiagnosisSnapshot>();
  }
  d->intent = CompareWithIntent(snapshot);
  d->peers = DiagnoseSnapshot(snapshot, options, now_unix, d->intent.get(), std::move(buffer));
  return d;
}

std::vector<PeerDiagnosis> DiagnoseSnapshot(const Snapshot& snapshot,
                                            const DiagnosisOptions& options, double now_unix,
                                            const IntentComparison* intent,
                                            std::vector<PeerDiagnosis> buffer) {
  std::vector<PeerDiagnosis> out = std::move(buffer);
  out.clear();
  if (!snapshot.bird) {
    return out;
  }
  out.reserve(SessionCount(snapshot));
  const ProbeIndex index = IndexProbes(snapshot);
  // The sessions Calico no longer asks for, by protocol.
  std::map<std::string_view, const intent::SessionDiff*> unexpected;
  if (intent != nullptr) {
    for (const intent::SessionDiff& diff : intent->diffs) {
      if (diff.kind == intent::DiffKind::kUnexpected) {
        unexpected.emplace(diff.protocol, &diff);
      }
    }
  }
  for (const DaemonSnapshot& d : snapshot.bird->daemons) {
    // Once per daemon and family, not per session: a 10,000-session daemon must not cost N^2.
    // The BIRD round found them when its peers last changed: not again at every publish.
    const NodeAddressProblems found =
        d.address_problems ? NodeAddressProblems() : FindNodeAddressProblems(d);
    const NodeAddressProblems& problems = d.address_problems ? *d.address_problems : found;
    if (!d.up) {
      for (const PeerSnapshot& p : d.last_known_peers) {
        Evidence e;
        e.bird_up = false;
        out.push_back(
            {d.daemon, p.protocol, p.peer, p.peer_type, "", std::nullopt, "", Diagnose(e)});
      }
      continue;
    }
    for (const PeerSnapshot& p : d.peers) {
      Evidence e;
      AddBirdEvidence(p, now_unix, &e);
      AddProbeEvidence(p.peer, index, &e);
      AddOptions(options, &e);
      if (const auto it = unexpected.find(p.protocol); it != unexpected.end()) {
        e.unexpected = true;
        e.unexpected_detail = it->second->Describe();
      }
      e.node_address_problem = problems.source[p.peer.find(':') != std::string::npos ? 1 : 0];
      // Written in place: no row of 152 bytes built aside and moved in, for every session.
      PeerDiagnosis& row = out.emplace_back();
      row.daemon = d.daemon;
      row.protocol = p.protocol;
      row.peer = p.peer;
      row.peer_type = p.peer_type;
      row.state = p.state;
      row.state_change_timestamp = p.state_change_timestamp;
      row.last_error = e.last_error.ShortText();
      row.diagnosis = Diagnose(e);
    }
  }
  if (intent != nullptr) {
    AddMissingRows(snapshot, *intent, &out);
  }
  return out;
}

}  // namespace cbe
