// The low-cardinality families: sessions and probed peers counted or summed up per daemon and
// peer type. They exist with metrics.sessions `all` and `unhealthy` alike, so that rules and
// dashboards that count sessions (how many, how many Established, isolated nodes, losses) work
// in both, whether or not a healthy session has series of its own.
//
// Series count: calico_bgp_peers has every cause (zeros included) for each daemon and peer type
// that has a session, not for every peer type: a mesh-only node has 17 per daemon, as many as
// before peer_type was added; zeros for all four peer types would be 68 per daemon, every node
// paying for peer types it does not have (at 1000 nodes with two daemons, 102,000 zeros more).
// Zeros matter only for causes (a rule or graph sees a cause go back to 0); the other
// aggregates have one series per daemon and peer type (per peer type and state or interface
// for the probes), and the probes' extremes exist only where something was measured.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "exporter/core/diagnosis.h"
#include "exporter/metrics/families.h"
#include "probes/clock/clock_probe.h"
#include "probes/icmp_probe.h"
#include "probes/mtu_probe.h"
#include "probes/tcp_syn_probe.h"

namespace cbe::metrics {
namespace {

using prometheus::MetricType;

constexpr probes::PortState kPortStates[] = {
    probes::PortState::kOpen, probes::PortState::kClosed, probes::PortState::kFiltered,
    probes::PortState::kUnreachable, probes::PortState::kUnprobed};

// The families of this area, in exposition order.
struct AggregateFamilies {
  Family& by_cause;
  Family& established;
  Family& down_changes;
  Family& port_state;
  Family& max_icmp_rtt;
  Family& max_icmp_loss;
  Family& min_path_mtu;
  Family& min_clock_offset;
  Family& max_clock_offset;
};

// A list of family declarations: split, it would only be harder to read.
AggregateFamilies DeclareAggregateFamilies(Families& f) {
  // Braced initialisation runs left to right: the families are added in this order.
  return AggregateFamilies{
      f.Add("calico_bgp_peers",
            "BGP sessions by daemon, peer type and diagnosed cause; every cause of each daemon "
            "and peer type with a session, zeros included."),
      f.Add("calico_bgp_peers_established", "Established BGP sessions by daemon and peer type."),
      f.Add("calico_bgp_peers_down_changes_total",
            "Times a BGP session left Established (down, or restarted between two BIRD rounds) "
            "since the exporter started, by daemon and peer type.",
            MetricType::Counter),
      f.Add("calico_bgp_peers_port_state",
            "Probed peers by the state of their BGP port (half-open TCP probe) and peer type; "
            "peer_type none: no BGP session names the peer (peers.static)."),
      f.Add("calico_bgp_peers_max_icmp_rtt_seconds",
            "The largest mean ICMP echo round trip of the peers of a type (last probe)."),
      f.Add("calico_bgp_peers_max_icmp_loss_ratio",
            "The largest share of lost ICMP echoes of the peers of a type (last probe)."),
      f.Add("calico_bgp_peers_min_path_mtu_bytes",
            "The smallest path MTU of the peers of a type behind an interface (last MTU probe)."),
      f.Add("calico_bgp_peers_min_clock_offset_seconds",
            "The smallest peer clock minus this node's clock of the peers of a type (ICMP "
            "timestamps)."),
      f.Add("calico_bgp_peers_max_clock_offset_seconds",
            "The largest peer clock minus this node's clock of the peers of a type (ICMP "
            "timestamps)."),
  };
}

using DaemonPeerType = std::pair<std::string, std::string>;

struct SessionCounts {
  std::map<DaemonPeerType, std::map<Cause, int>> by_cause;
  std::map<DaemonPeerType, int> established;
};

void AddSessions(const DiagnosisSnapshot& diagnosis, AggregateFamilies& f, SessionCounts* counts) {
  for (const PeerDiagnosis& p : diagnosis.peers) {
    const DaemonPeerType key{p.daemon, p.peer_type};
    ++counts->by_cause[key][p.diagnosis.cause];
    counts->established[key] += p.state == "Established" ? 1 : 0;
  }
  for (const auto& [key, by_cause] : counts->by_cause) {
    const Labels labels = {{"daemon", key.first}, {"peer_type", key.second}};
    for (Cause c : AllCauses()) {
      const auto it = by_cause.find(c);
      f.by_cause.Add(With(labels, {{"cause", std::string(CauseName(c))}}),
                     it == by_cause.end() ? 0 : it->second);
    }
    f.established.Add(labels, counts->established[key]);
  }
}

// Every daemon and peer type with a session has its counter from the start, so that the first
// loss is an increase; a peer type whose sessions went away keeps its count.
void AddDownChanges(const BirdSnapshot* bird, const SessionCounts& counts, AggregateFamilies& f) {
  std::map<DaemonPeerType, std::uint64_t> totals;
  for (const auto& [key, unused] : counts.by_cause) {
    totals[key];
  }
  if (bird != nullptr) {
    for (const DaemonSnapshot& d : bird->daemons) {
      for (const auto& [peer_type, n] : d.down_changes_total) {
        totals[{d.daemon, peer_type}] = n;
      }
    }
  }
  for (const auto& [key, n] : totals) {
    f.down_changes.Add({{"daemon", key.first}, {"peer_type", key.second}}, static_cast<double>(n));
  }
}

void AddPortStates(const probes::TcpSnapshot& tcp, const SessionView& view, Family& port_state) {
  std::map<std::string, std::map<probes::PortState, int>> by_type;
  for (const auto& r : tcp.ports) {
    ++by_type[std::string(view.PeerType(r.peer.ToString()))][r.state];
  }
  for (const auto& [peer_type, by_state] : by_type) {
    for (probes::PortState state : kPortStates) {
      const auto it = by_state.find(state);
      port_state.Add(
          {{"peer_type", peer_type}, {"state", std::string(probes::PortStateName(state))}},
          it == by_state.end() ? 0 : it->second);
    }
  }
}

// Keeps the smallest (or largest) value per key.
template <typename Key, typename Better>
void Keep(std::map<Key, double>& extremes, const Key& key, double value, Better better) {
  auto [it, inserted] = extremes.emplace(key, value);
  if (!inserted && better(value, it->second)) {
    it->second = value;
  }
}

void AddIcmp(const probes::IcmpSnapshot& icmp, const SessionView& view, AggregateFamilies& f) {
  std::map<std::string, double> rtt;
  std::map<std::string, double> loss;
  for (const auto& r : icmp.results) {
    if (!r.probed) {
      continue;
    }
    const std::string peer_type(view.PeerType(r.peer.ToString()));
    if (r.rtt_seconds) {
      Keep(rtt, peer_type, *r.rtt_seconds, std::greater<>());
    }
    Keep(loss, peer_type, r.loss_ratio(), std::greater<>());
  }
  for (const auto& [peer_type, v] : rtt) {
    f.max_icmp_rtt.Add({{"peer_type", peer_type}}, v);
  }
  for (const auto& [peer_type, v] : loss) {
    f.max_icmp_loss.Add({{"peer_type", peer_type}}, v);
  }
}

void AddPathMtu(const probes::MtuSnapshot& mtu, const SessionView& view, Family& min_path_mtu) {
  std::map<std::pair<std::string, std::string>, double> smallest;  // (peer type, interface)
  for (const auto& r : mtu.results) {
    if (r.path_mtu) {
      Keep(smallest, std::pair(std::string(view.PeerType(r.peer.ToString())), r.interface.str()),
           *r.path_mtu, std::less<>());
    }
  }
  for (const auto& [key, v] : smallest) {
    min_path_mtu.Add({{"peer_type", key.first}, {"interface", key.second}}, v);
  }
}

void AddPeerClocks(const probes::ClockSnapshot& clock, const SessionView& view,
                   AggregateFamilies& f) {
  std::map<std::string, double> smallest;
  std::map<std::string, double> largest;
  for (const auto& p : clock.result.peers) {
    if (p.offset_seconds) {
      const std::string peer_type(view.PeerType(p.peer.ToString()));
      Keep(smallest, peer_type, *p.offset_seconds, std::less<>());
      Keep(largest, peer_type, *p.offset_seconds, std::greater<>());
    }
  }
  for (const auto& [peer_type, v] : smallest) {
    f.min_clock_offset.Add({{"peer_type", peer_type}}, v);
  }
  for (const auto& [peer_type, v] : largest) {
    f.max_clock_offset.Add({{"peer_type", peer_type}}, v);
  }
}

}  // namespace

void AddAggregateFamilies(const Snapshot& snapshot, const SessionView& view, Families& families) {
  AggregateFamilies f = DeclareAggregateFamilies(families);
  if (snapshot.diagnosis) {
    SessionCounts counts;
    AddSessions(*snapshot.diagnosis, f, &counts);
    AddDownChanges(snapshot.bird.get(), counts, f);
  }
  if (const auto* tcp = snapshot.Probe<probes::TcpSnapshot>()) {
    AddPortStates(*tcp, view, f.port_state);
  }
  if (const auto* icmp = snapshot.Probe<probes::IcmpSnapshot>()) {
    AddIcmp(*icmp, view, f);
  }
  if (const auto* mtu = snapshot.Probe<probes::MtuSnapshot>()) {
    AddPathMtu(*mtu, view, f.min_path_mtu);
  }
  if (const auto* clock = snapshot.Probe<probes::ClockSnapshot>()) {
    AddPeerClocks(*clock, view, f);
  }
}

}  // namespace cbe::metrics
