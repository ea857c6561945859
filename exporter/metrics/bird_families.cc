// BIRD's daemons and BGP sessions: calico_bgp_bird_* and calico_bgp_peer_* (but the probes').

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/metrics/families.h"

namespace cbe::metrics {
namespace {

using prometheus::MetricType;

// Every help text of a family filled from the BIRD round ends so.
std::string FromBirdRound(std::string_view text) {
  return std::string(text) + " (from the last BIRD round).";
}

// Routes of a session by kind. imported and exported by default; preferred and filtered with
// metrics.extra: route_details.
struct RouteKind {
  const char* name;
  OptionalCount bird::RouteCounts::*count;
  bool route_details_only;
};
constexpr RouteKind kRouteKinds[] = {{"imported", &bird::RouteCounts::imported, false},
                                     {"exported", &bird::RouteCounts::exported, false},
                                     {"preferred", &bird::RouteCounts::preferred, true},
                                     {"filtered", &bird::RouteCounts::filtered, true}};

// The families of this area, in exposition order.
struct BirdFamilies {
  Family& up;
  Family& info;
  Family& reboot;
  Family& reconfiguration;
  Family& graceful_restart;
  Family& unparsed;
  Family& peer_up;
  Family& peer_state;
  Family& peer_info;
  Family& since;
  Family& last_error;
  Family& hold;
  Family& keepalive;
  Family& routes;
  Family& state_changes;
  Family& tx_pending;
};

// A list of family declarations, one per line pair: split, it would only be harder to read.
BirdFamilies DeclareBirdFamilies(Families& f) {
  // Braced initialisation runs left to right: the families are added in this order.
  return BirdFamilies{
      f.Add("calico_bgp_bird_up",
            FromBirdRound("1 if the last query of this BIRD control socket succeeded, else 0")),
      f.Add("calico_bgp_bird_info", FromBirdRound("BIRD's version and router ID; always 1")),
      f.Add("calico_bgp_bird_last_reboot_timestamp_seconds",
            FromBirdRound("Unix time of BIRD's last start")),
      f.Add("calico_bgp_bird_last_reconfiguration_timestamp_seconds",
            FromBirdRound("Unix time of BIRD's last reconfiguration")),
      f.Add("calico_bgp_bird_graceful_restart_recovery",
            FromBirdRound("1 while BIRD's graceful restart recovery is in progress")),
      f.Add("calico_bgp_bird_unparsed_lines_total",
            "Lines of BIRD replies the exporter did not understand, since it started.",
            MetricType::Counter),
      f.Add("calico_bgp_peer_up", FromBirdRound("1 when the BGP session is Established, else 0")),
      f.Add("calico_bgp_peer_state",
            FromBirdRound("The BGP session's state, named by the state label; always 1")),
      f.Add("calico_bgp_peer_info",
            FromBirdRound("AS numbers, router ID and session kind of a BGP peer; always 1")),
      f.Add("calico_bgp_peer_state_change_timestamp_seconds",
            FromBirdRound("Unix time of the protocol's last state change as BIRD reports it")),
      f.Add("calico_bgp_peer_last_error_info",
            FromBirdRound("BIRD's last error for the session, while BIRD shows one; always 1")),
      f.Add(
          "calico_bgp_peer_hold_time_seconds",
          FromBirdRound("Negotiated hold time of an Established session (metrics.extra: timers)")),
      f.Add("calico_bgp_peer_keepalive_time_seconds",
            FromBirdRound(
                "Negotiated keepalive time of an Established session (metrics.extra: timers)")),
      f.Add("calico_bgp_peer_routes",
            FromBirdRound("Routes of the session by kind: imported, exported; preferred, "
                          "filtered with metrics.extra: route_details")),
      f.Add("calico_bgp_peer_state_changes_total",
            "BGP state changes of the session the exporter saw since it started (metrics.extra: "
            "state_changes).",
            MetricType::Counter),
      f.Add("calico_bgp_peer_tx_pending_bytes",
            FromBirdRound("Bytes queued to the peer on an Established session, BIRD 3 only "
                          "(metrics.extra: tx_pending)")),
  };
}

// The labels of a session's series: daemon, protocol, peer, then `more`.
Labels PeerLabels(const DaemonSnapshot& d, const PeerSnapshot& p,
                  std::initializer_list<prometheus::ClientMetric::Label> more = {}) {
  Labels labels;
  labels.reserve(3 + more.size());
  labels.push_back({"daemon", d.daemon});
  labels.push_back({"protocol", p.protocol.str()});
  labels.push_back({"peer", p.peer.str()});
  labels.insert(labels.end(), more);
  return labels;
}

// A session with series of its own, and its daemon.
struct ShownSession {
  const DaemonSnapshot* daemon;
  const PeerSnapshot* peer;
};

// Fills `family` over every session in `sessions` with add(daemon, peer, family) and closes it:
// the peer families are filled one after the other, so none of them holds its text (Family).
template <typename AddFn>
void Fill(const std::vector<ShownSession>& sessions, Family& family, AddFn add) {
  family.Reserve(sessions.size());
  for (const ShownSession& s : sessions) {
    add(*s.daemon, *s.peer, family);
  }
  family.Close();
}

void AddPeers(const std::vector<ShownSession>& sessions, const MetricsConfig& extra,
              BirdFamilies& f) {
  using D = const DaemonSnapshot&;
  using P = const PeerSnapshot&;
  Fill(sessions, f.peer_up, [](D d, P p, Family& family) {
    family.Add(PeerLabels(d, p, {{"peer_type", p.peer_type.str()}}), p.up ? 1 : 0);
  });
  Fill(sessions, f.peer_state, [](D d, P p, Family& family) {
    family.Add(PeerLabels(d, p, {{"state", p.state.str()}}), 1);
  });
  Fill(sessions, f.peer_info, [](D d, P p, Family& family) {
    family.Add(PeerLabels(d, p,
                          {{"peer_type", p.peer_type.str()},
                           {"neighbor_as", p.neighbor_as.str()},
                           {"local_as", p.local_as.str()},
                           {"neighbor_router_id", p.neighbor_router_id.str()},
                           {"session", p.session.str()}}),
               1);
  });
  Fill(sessions, f.since, [](D d, P p, Family& family) {
    if (p.state_change_timestamp) {
      family.Add(PeerLabels(d, p), *p.state_change_timestamp);
    }
  });
  Fill(sessions, f.last_error, [](D d, P p, Family& family) {
    if (!p.last_error.empty()) {
      family.Add(PeerLabels(d, p,
                            {{"class", p.last_error.class_text.str()},
                             {"message", p.last_error.message.str()}}),
                 1);
    }
  });
  Fill(sessions, f.hold, [&](D d, P p, Family& family) {
    if (p.hold_time_seconds && extra.timers) {
      family.Add(PeerLabels(d, p), *p.hold_time_seconds);
    }
  });
  Fill(sessions, f.keepalive, [&](D d, P p, Family& family) {
    if (p.keepalive_time_seconds && extra.timers) {
      family.Add(PeerLabels(d, p), *p.keepalive_time_seconds);
    }
  });
  // Only while Established: BIRD 1.6 prints zeros for a session that is down, BIRD 2 nothing.
  Fill(sessions, f.routes, [&](D d, P p, Family& family) {
    for (const RouteKind& kind : kRouteKinds) {
      const std::optional<std::uint64_t>& count = p.routes.*kind.count;
      if (p.up && count && (extra.route_details || !kind.route_details_only)) {
        family.Add(PeerLabels(d, p, {{"route", kind.name}}), static_cast<double>(*count));
      }
    }
  });
  Fill(sessions, f.state_changes, [&](D d, P p, Family& family) {
    if (extra.state_changes) {
      family.Add(PeerLabels(d, p), static_cast<double>(p.state_changes_total));
    }
  });
  Fill(sessions, f.tx_pending, [&](D d, P p, Family& family) {
    if (p.tx_pending_bytes && extra.tx_pending) {
      family.Add(PeerLabels(d, p), static_cast<double>(*p.tx_pending_bytes));
    }
  });
}

void AddDaemon(const DaemonSnapshot& d, BirdFamilies& f) {
  const Labels daemon = {{"daemon", d.daemon}};
  f.up.Add(daemon, d.up ? 1 : 0);
  f.unparsed.Add(daemon, static_cast<double>(d.unparsed_lines_total));
  if (!d.up) {
    return;
  }
  f.info.Add(With(daemon, {{"version", d.version}, {"router_id", d.router_id}}), 1);
  if (d.last_reboot_timestamp) {
    f.reboot.Add(daemon, *d.last_reboot_timestamp);
  }
  if (d.last_reconfiguration_timestamp) {
    f.reconfiguration.Add(daemon, *d.last_reconfiguration_timestamp);
  }
  f.graceful_restart.Add(daemon, d.graceful_restart_recovery ? 1 : 0);
}

}  // namespace

void AddBirdFamilies(const BirdSnapshot* bird, const MetricsConfig& extra, const SessionView& view,
                     Families& families) {
  BirdFamilies f = DeclareBirdFamilies(families);
  if (bird == nullptr) {
    return;
  }
  std::vector<ShownSession> sessions;
  for (const DaemonSnapshot& d : bird->daemons) {
    AddDaemon(d, f);
    for (const PeerSnapshot& p : d.peers) {
      if (d.up && view.ShowSession(d.daemon, p.protocol)) {
        sessions.push_back({&d, &p});
      }
    }
  }
  for (Family* daemon_family :
       {&f.up, &f.info, &f.reboot, &f.reconfiguration, &f.graceful_restart, &f.unparsed}) {
    daemon_family->Close();
  }
  AddPeers(sessions, extra, f);
}

}  // namespace cbe::metrics
