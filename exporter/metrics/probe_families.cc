// The probes' self-metrics (calico_bgp_probe_*) and the results of the TCP port, ICMP echo, MTU
// and listener probes.

#include <map>
#include <string>

#include "exporter/metrics/families.h"

namespace cbe::metrics {

void ProbeRunFamilies::Add(const ProbeRun& run) const {
  const Labels labels = {{"probe", run.probe}};
  success->Add(labels, run.success ? 1 : 0);
  duration->Add(labels, run.duration_seconds);
  last_run->Add(labels, run.last_run_timestamp);
}

ProbeRunFamilies AddProbeRunFamilies(Families& families) {
  ProbeRunFamilies runs{};
  runs.success = &families.Add("calico_bgp_probe_success",
                               "1 if the last run of the probe succeeded, else 0.");
  runs.duration = &families.Add("calico_bgp_probe_duration_seconds",
                                "How long the last run of the probe took.");
  runs.last_run = &families.Add("calico_bgp_probe_last_run_timestamp_seconds",
                                "Unix time the last run of the probe finished.");
  return runs;
}

void AddTcpFamilies(const TcpSnapshot* tcp, const MetricsConfig& extra, const SessionView& view,
                    const ProbeRunFamilies& runs, Families& families) {
  Family& port_state =
      families.Add("calico_bgp_peer_port_state",
                   "State of the peer's BGP port from the last half-open TCP probe, named by the "
                   "state label (open, closed, filtered, unreachable, unprobed); always 1.");
  Family& port_rtt =
      families.Add("calico_bgp_peer_port_rtt_seconds",
                   "Time from SYN to the answer in the last TCP probe (metrics.extra: "
                   "port_rtt).");
  if (tcp == nullptr) {
    return;
  }
  for (const auto& r : tcp->ports) {
    const std::string address = r.peer.ToString();
    if (!view.ShowPeer(address)) {
      continue;
    }
    const Labels peer = {{"peer", address}};
    port_state.Add(With(peer, {{"state", std::string(probes::PortStateName(r.state))}}), 1);
    if (r.rtt_seconds && extra.port_rtt) {
      port_rtt.Add(peer, *r.rtt_seconds);
    }
  }
  runs.Add(tcp->run);
}

void AddIcmpFamilies(const IcmpSnapshot* icmp, const SessionView& view,
                     const ProbeRunFamilies& runs, Families& families) {
  Family& rtt = families.Add("calico_bgp_peer_icmp_rtt_seconds",
                             "Mean round trip of the ICMP echo replies of the last probe.");
  Family& loss = families.Add("calico_bgp_peer_icmp_loss_ratio",
                              "Share of the ICMP echoes of the last probe that got no reply.");
  if (icmp == nullptr) {
    return;
  }
  for (const auto& r : icmp->results) {
    const std::string address = r.peer.ToString();
    if (!r.probed || !view.ShowPeer(address)) {
      continue;
    }
    const Labels peer = {{"peer", address}};
    if (r.rtt_seconds) {
      rtt.Add(peer, *r.rtt_seconds);
    }
    loss.Add(peer, r.loss_ratio());
  }
  runs.Add(icmp->run);
}

void AddMtuFamilies(const MtuSnapshot* mtu, const SessionView& view, const ProbeRunFamilies& runs,
                    Families& families) {
  Family& interface_mtu = families.Add("calico_bgp_interface_mtu_bytes",
                                       "MTU of an interface that routes to a probed peer.");
  Family& path_mtu =
      families.Add("calico_bgp_peer_path_mtu_bytes",
                   "Largest packet that reached the peer with don't-fragment set in the last MTU "
                   "probe; interface: the one of the route to the peer.");
  Family& tunnel_mtu =
      families.Add("calico_bgp_tunnel_mtu_bytes", "MTU of a Calico tunnel device.");
  Family& tunnel_fits =
      families.Add("calico_bgp_tunnel_mtu_fits",
                   "1 if the tunnel MTU plus its encapsulation overhead fits the underlay MTU.");
  if (mtu == nullptr) {
    return;
  }
  // One series per interface (a node has one or two uplinks; per peer it would be N^2 in a
  // full mesh); the path MTU names its peer's interface to join on.
  std::map<std::string, double> interfaces;
  for (const auto& r : mtu->results) {
    if (r.interface_mtu && !r.interface.empty()) {
      interfaces.emplace(r.interface, *r.interface_mtu);
    }
    if (const std::string address = r.peer.ToString(); r.path_mtu && view.ShowPeer(address)) {
      path_mtu.Add({{"peer", address}, {"interface", r.interface}}, *r.path_mtu);
    }
  }
  for (const auto& [name, value] : interfaces) {
    interface_mtu.Add({{"interface", name}}, value);
  }
  for (const auto& t : mtu->tunnels) {
    const Labels labels = {{"interface", t.interface}, {"kind", t.kind}};
    tunnel_mtu.Add(labels, t.mtu);
    if (t.fits) {
      tunnel_fits.Add(labels, *t.fits ? 1 : 0);
    }
  }
  runs.Add(mtu->run);
}

void AddListenerFamilies(const ListenerSnapshot* listener, const ProbeRunFamilies& runs,
                         Families& families) {
  Family& up =
      families.Add("calico_bgp_listener_up",
                   "1 if something on this node listens on the BGP port, by address family.");
  if (listener == nullptr) {
    return;
  }
  if (listener->result.ipv4_known) {
    up.Add({{"family", "ipv4"}}, listener->result.ipv4 ? 1 : 0);
  }
  if (listener->result.ipv6_known) {
    up.Add({{"family", "ipv6"}}, listener->result.ipv6 ? 1 : 0);
  }
  runs.Add(listener->run);
}

}  // namespace cbe::metrics
