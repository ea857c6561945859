#include "exporter/metrics/collector.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "exporter/core/diagnosis.h"
#include "version.h"

namespace cbe {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Labels = std::vector<ClientMetric::Label>;

// One metric family while the exposition is built. With a chunk size, every `chunk` samples are
// turned into exposition text by prometheus-cpp's TextSerializer at once and dropped, so a
// rendering holds at most that many samples per family as objects (at 1000 peers all families
// as ClientMetrics take ~7 MB; their text ~1 MB). Without one (0) the samples are kept for
// BuildFamilies().
class Family {
 public:
  Family(std::string name, std::string help, MetricType type = MetricType::Gauge,
         std::size_t chunk = 0)
      : chunk_(chunk) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }

  void Add(Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (family_.type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    family_.metric.push_back(std::move(m));
    if (chunk_ != 0 && family_.metric.size() >= chunk_) {
      Flush();
    }
  }

  void Reserve(std::size_t n) { family_.metric.reserve(chunk_ != 0 ? std::min(n, chunk_) : n); }

  // Families without series are left out of the exposition.
  void MoveTo(std::vector<MetricFamily>* out) {
    if (!family_.metric.empty()) {
      out->push_back(std::move(family_));
    }
  }

  // The family's exposition text (empty without series).
  std::string TakeText() {
    Flush();
    return std::move(text_);
  }

 private:
  // Serializes the samples held so far and appends them to text_. The first chunk carries the
  // family's # HELP and # TYPE lines; later chunks are serialized the same way and lose them.
  void Flush() {
    if (family_.metric.empty()) {
      return;
    }
    std::vector<MetricFamily> one(1);
    one[0].name = family_.name;
    one[0].help = family_.help;
    one[0].type = family_.type;
    one[0].metric = std::move(family_.metric);
    family_.metric.clear();
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, one);
    std::string chunk = std::move(out).str();
    std::size_t body = 0;
    if (!text_.empty()) {
      while (body < chunk.size() && chunk[body] == '#') {
        const std::size_t eol = chunk.find('\n', body);
        body = eol == std::string::npos ? chunk.size() : eol + 1;
      }
    }
    text_.append(chunk, body);
  }

  std::size_t chunk_;
  MetricFamily family_;
  std::string text_;
};

// The families of one exposition, in the order they were added; empty ones are left out.
class Families {
 public:
  explicit Families(std::size_t chunk = 0) : chunk_(chunk) {}

  Family& Add(std::string name, std::string help, MetricType type = MetricType::Gauge) {
    return families_.emplace_back(std::move(name), std::move(help), type, chunk_);
  }
  void MoveTo(std::vector<MetricFamily>* out) {
    out->reserve(families_.size());
    for (Family& f : families_) {
      f.MoveTo(out);
    }
  }
  // Hands each family's text to `sink` in order, freeing it as it goes.
  void Render(const std::function<void(std::string_view)>& sink) {
    for (Family& f : families_) {
      const std::string text = f.TakeText();
      if (!text.empty()) {
        sink(text);
      }
    }
  }

 private:
  std::size_t chunk_;
  std::deque<Family> families_;
};

Labels PeerLabels(const DaemonSnapshot& d, const PeerSnapshot& p) {
  return {{"daemon", d.daemon}, {"protocol", p.protocol}, {"peer", p.peer}};
}

Labels With(Labels labels, std::initializer_list<ClientMetric::Label> more) {
  labels.insert(labels.end(), more);
  return labels;
}

void AddProbeRun(const ProbeRun& run, Family* success, Family* duration, Family* last_run) {
  const Labels labels = {{"probe", run.probe}};
  success->Add(labels, run.success ? 1 : 0);
  duration->Add(labels, run.duration_seconds);
  last_run->Add(labels, run.last_run_timestamp);
}

}  // namespace

std::string CompilerName() {
#if defined(__clang__)
  return "clang-" +
         std::string(__clang_version__).substr(0, std::string(__clang_version__).find(' '));
#elif defined(__GNUC__)
  return "gcc-" + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

namespace {

void Build(const Snapshot& snapshot, Families& families) {
  constexpr std::string_view kRound = " (from the last BIRD round).";
  const auto help = [&](std::string_view text) { return std::string(text) + std::string(kRound); };

  Family& build_info =
      families.Add("calico_bgp_exporter_build_info",
                   "Version, revision and compiler of calico-bgp-exporter; always 1.");
  build_info.Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", CompilerName()}}, 1);

  Family& bird_up =
      families.Add("calico_bgp_bird_up",
                   help("1 if the last query of this BIRD control socket succeeded, else 0"));
  Family& bird_info =
      families.Add("calico_bgp_bird_info", help("BIRD's version and router ID; always 1"));
  Family& reboot = families.Add("calico_bgp_bird_last_reboot_timestamp_seconds",
                                help("Unix time of BIRD's last start"));
  Family& reconf = families.Add("calico_bgp_bird_last_reconfiguration_timestamp_seconds",
                                help("Unix time of BIRD's last reconfiguration"));
  Family& gr = families.Add("calico_bgp_bird_graceful_restart_recovery",
                            help("1 while BIRD's graceful restart recovery is in progress"));
  Family& unparsed =
      families.Add("calico_bgp_bird_unparsed_lines_total",
                   "Lines of BIRD replies the exporter did not understand, since it started.",
                   MetricType::Counter);
  Family& peer_up =
      families.Add("calico_bgp_peer_up", help("1 when the BGP session is Established, else 0"));
  Family& peer_state = families.Add(
      "calico_bgp_peer_state", help("The BGP session's state, named by the state label; always 1"));
  Family& peer_info =
      families.Add("calico_bgp_peer_info",
                   help("AS numbers, router ID and session kind of a BGP peer; always 1"));
  Family& since =
      families.Add("calico_bgp_peer_state_change_timestamp_seconds",
                   help("Unix time of the protocol's last state change as BIRD reports it"));
  Family& last_error =
      families.Add("calico_bgp_peer_last_error_info",
                   help("BIRD's last error for the session, while BIRD shows one; always 1"));
  Family& hold =
      families.Add("calico_bgp_peer_hold_time_seconds",
                   help("Negotiated hold time of an Established session (metrics.extra: timers)"));
  Family& keepalive = families.Add(
      "calico_bgp_peer_keepalive_time_seconds",
      help("Negotiated keepalive time of an Established session (metrics.extra: timers)"));
  Family& routes = families.Add(
      "calico_bgp_peer_routes",
      help("Routes of the session by kind: imported, exported; preferred, filtered with "
           "metrics.extra: route_details"));
  Family& changes = families.Add(
      "calico_bgp_peer_state_changes_total",
      "BGP state changes of the session the exporter saw since it started (metrics.extra: "
      "state_changes).",
      MetricType::Counter);
  Family& probe_success =
      families.Add("calico_bgp_probe_success", "1 if the last run of the probe succeeded, else 0.");
  Family& probe_duration =
      families.Add("calico_bgp_probe_duration_seconds", "How long the last run of the probe took.");
  Family& probe_last_run = families.Add("calico_bgp_probe_last_run_timestamp_seconds",
                                        "Unix time the last run of the probe finished.");

  // Series per peer beyond the default ones, as the running config asks (metrics.extra).
  const MetricsConfig extra = snapshot.config ? snapshot.config->metrics : MetricsConfig{};
  if (const BirdSnapshot* b = snapshot.bird.get()) {
    std::size_t peers = 0;
    for (const DaemonSnapshot& d : b->daemons) {
      peers += d.peers.size();
    }
    for (Family* f : {&peer_up, &peer_state, &peer_info, &since}) {
      f->Reserve(peers);
    }
    routes.Reserve(peers * 2);
    for (const DaemonSnapshot& d : b->daemons) {
      const Labels daemon = {{"daemon", d.daemon}};
      bird_up.Add(daemon, d.up ? 1 : 0);
      unparsed.Add(daemon, static_cast<double>(d.unparsed_lines_total));
      if (!d.up) {
        continue;
      }
      bird_info.Add(With(daemon, {{"version", d.version}, {"router_id", d.router_id}}), 1);
      if (d.last_reboot_timestamp) {
        reboot.Add(daemon, *d.last_reboot_timestamp);
      }
      if (d.last_reconfiguration_timestamp) {
        reconf.Add(daemon, *d.last_reconfiguration_timestamp);
      }
      gr.Add(daemon, d.graceful_restart_recovery ? 1 : 0);
      for (const PeerSnapshot& p : d.peers) {
        const Labels labels = PeerLabels(d, p);
        peer_up.Add(With(labels, {{"peer_type", p.peer_type}}), p.up ? 1 : 0);
        peer_state.Add(With(labels, {{"state", p.state}}), 1);
        peer_info.Add(With(labels, {{"peer_type", p.peer_type},
                                    {"neighbor_as", p.neighbor_as},
                                    {"local_as", p.local_as},
                                    {"neighbor_router_id", p.neighbor_router_id},
                                    {"session", p.session}}),
                      1);
        if (p.state_change_timestamp) {
          since.Add(labels, *p.state_change_timestamp);
        }
        if (!p.last_error.empty()) {
          last_error.Add(
              With(labels, {{"class", p.last_error.class_text}, {"message", p.last_error.message}}),
              1);
        }
        if (p.hold_time_seconds && extra.timers) {
          hold.Add(labels, *p.hold_time_seconds);
        }
        if (p.keepalive_time_seconds && extra.timers) {
          keepalive.Add(labels, *p.keepalive_time_seconds);
        }
        // imported and exported by default; preferred and filtered with route_details. Only
        // while Established: BIRD 1.6 prints zeros for a session that is down, BIRD 2 nothing.
        const std::array<std::pair<const char*, const std::optional<std::uint64_t>*>, 4> kinds = {
            {{"imported", &p.routes.imported},
             {"exported", &p.routes.exported},
             {"preferred", extra.route_details ? &p.routes.preferred : nullptr},
             {"filtered", extra.route_details ? &p.routes.filtered : nullptr}}};
        for (const auto& [kind, count] : kinds) {
          if (p.up && count != nullptr && *count) {
            routes.Add(With(labels, {{"route", kind}}), static_cast<double>(**count));
          }
        }
        if (extra.state_changes) {
          changes.Add(labels, static_cast<double>(p.state_changes_total));
        }
      }
    }
    AddProbeRun(b->run, &probe_success, &probe_duration, &probe_last_run);
  }

  Family& port_state =
      families.Add("calico_bgp_peer_port_state",
                   "State of the peer's BGP port from the last half-open TCP probe, named by the "
                   "state label (open, closed, filtered, unreachable, unprobed); always 1.");
  Family& port_rtt =
      families.Add("calico_bgp_peer_port_rtt_seconds",
                   "Time from SYN to the answer in the last TCP probe (metrics.extra: "
                   "port_rtt).");
  if (const TcpSnapshot* t = snapshot.tcp.get()) {
    for (const auto& r : t->ports) {
      const Labels peer = {{"peer", r.peer.ToString()}};
      port_state.Add(With(peer, {{"state", std::string(probes::PortStateName(r.state))}}), 1);
      if (r.rtt_seconds && extra.port_rtt) {
        port_rtt.Add(peer, *r.rtt_seconds);
      }
    }
    AddProbeRun(t->run, &probe_success, &probe_duration, &probe_last_run);
  }
  Family& icmp_rtt = families.Add("calico_bgp_peer_icmp_rtt_seconds",
                                  "Mean round trip of the ICMP echo replies of the last probe.");
  Family& icmp_loss = families.Add("calico_bgp_peer_icmp_loss_ratio",
                                   "Share of the ICMP echoes of the last probe that got no reply.");
  if (const IcmpSnapshot* i = snapshot.icmp.get()) {
    for (const auto& r : i->results) {
      if (!r.probed) {
        continue;
      }
      const Labels peer = {{"peer", r.peer.ToString()}};
      if (r.rtt_seconds) {
        icmp_rtt.Add(peer, *r.rtt_seconds);
      }
      icmp_loss.Add(peer, r.loss_ratio());
    }
    AddProbeRun(i->run, &probe_success, &probe_duration, &probe_last_run);
  }
  Family& if_mtu = families.Add("calico_bgp_interface_mtu_bytes",
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
  if (const MtuSnapshot* m = snapshot.mtu.get()) {
    // One series per interface (a node has one or two uplinks; per peer it would be N^2 in a
    // full mesh); the path MTU names its peer's interface to join on.
    std::map<std::string, double> interfaces;
    for (const auto& r : m->results) {
      if (r.interface_mtu && !r.interface.empty()) {
        interfaces.emplace(r.interface, *r.interface_mtu);
      }
      if (r.path_mtu) {
        path_mtu.Add({{"peer", r.peer.ToString()}, {"interface", r.interface}}, *r.path_mtu);
      }
    }
    for (const auto& [name, mtu] : interfaces) {
      if_mtu.Add({{"interface", name}}, mtu);
    }
    for (const auto& t : m->tunnels) {
      const Labels labels = {{"interface", t.interface}, {"kind", t.kind}};
      tunnel_mtu.Add(labels, t.mtu);
      if (t.fits) {
        tunnel_fits.Add(labels, *t.fits ? 1 : 0);
      }
    }
    AddProbeRun(m->run, &probe_success, &probe_duration, &probe_last_run);
  }
  Family& listener =
      families.Add("calico_bgp_listener_up",
                   "1 if something on this node listens on the BGP port, by address family.");
  if (const ListenerSnapshot* l = snapshot.listener.get()) {
    if (l->result.ipv4_known) {
      listener.Add({{"family", "ipv4"}}, l->result.ipv4 ? 1 : 0);
    }
    if (l->result.ipv6_known) {
      listener.Add({{"family", "ipv6"}}, l->result.ipv6 ? 1 : 0);
    }
    AddProbeRun(l->run, &probe_success, &probe_duration, &probe_last_run);
  }

  Family& clock_sync =
      families.Add("calico_bgp_clock_synchronized",
                   "1 if the kernel clock is synchronised (adjtimex: STA_UNSYNC clear and maximum "
                   "error below 16 s, as ntpstat decides).");
  Family& clock_est = families.Add("calico_bgp_clock_estimated_error_seconds",
                                   "The kernel clock's estimated error (adjtimex).");
  Family& clock_max = families.Add("calico_bgp_clock_max_error_seconds",
                                   "The kernel clock's maximum error (adjtimex).");
  Family& clock_offset =
      families.Add("calico_bgp_clock_offset_seconds",
                   "Offset the kernel still corrects: reference minus this clock (adjtimex).");
  Family& ntp_up =
      families.Add("calico_bgp_ntp_up", "1 if the NTP server answered and passed every check.");
  Family& ntp_offset = families.Add("calico_bgp_ntp_offset_seconds",
                                    "The NTP server's clock minus this node's clock.");
  Family& ntp_rtt =
      families.Add("calico_bgp_ntp_rtt_seconds", "Round-trip delay to the NTP server.");
  Family& ntp_stratum = families.Add("calico_bgp_ntp_stratum", "Stratum the NTP server reports.");
  Family& chrony_up = families.Add("calico_bgp_chrony_up",
                                   "1 if chronyd's command port answered a tracking "
                                   "request.");
  Family& chrony_offset =
      families.Add("calico_bgp_chrony_offset_seconds",
                   "chronyd's reference clock minus this node's clock (its system time "
                   "correction).");
  Family& chrony_stratum = families.Add("calico_bgp_chrony_stratum", "chronyd's stratum.");
  Family& chrony_delay =
      families.Add("calico_bgp_chrony_root_delay_seconds", "chronyd's root delay.");
  Family& chrony_dispersion =
      families.Add("calico_bgp_chrony_root_dispersion_seconds", "chronyd's root dispersion.");
  Family& chrony_info = families.Add("calico_bgp_chrony_tracking_info",
                                     "chronyd's reference and leap status; always 1.");
  Family& peer_clock =
      families.Add("calico_bgp_peer_clock_offset_seconds",
                   "The peer's clock minus this node's clock, from ICMP timestamps.");
  if (const ClockSnapshot* c = snapshot.clock.get()) {
    const auto& r = c->result;
    if (r.kernel) {
      clock_sync.Add({}, r.kernel->synchronized ? 1 : 0);
      clock_est.Add({}, r.kernel->estimated_error_seconds);
      clock_max.Add({}, r.kernel->max_error_seconds);
      clock_offset.Add({}, r.kernel->offset_seconds);
    }
    for (const auto& n : r.ntp) {
      const Labels server = {{"server", n.server}};
      ntp_up.Add(server, n.up ? 1 : 0);
      if (n.offset_seconds) {
        ntp_offset.Add(server, *n.offset_seconds);
      }
      if (n.rtt_seconds) {
        ntp_rtt.Add(server, *n.rtt_seconds);
      }
      if (n.stratum) {
        ntp_stratum.Add(server, *n.stratum);
      }
    }
    if (r.chrony_enabled) {
      chrony_up.Add({}, r.chrony ? 1 : 0);
      if (r.chrony) {
        chrony_offset.Add({}, r.chrony->offset_seconds);
        chrony_stratum.Add({}, r.chrony->stratum);
        chrony_delay.Add({}, r.chrony->root_delay_seconds);
        chrony_dispersion.Add({}, r.chrony->root_dispersion_seconds);
        chrony_info.Add(
            {{"reference", r.chrony->reference_address.empty() ? r.chrony->reference_id_hex
                                                               : r.chrony->reference_address},
             {"leap", std::string(probes::ChronyLeapName(r.chrony->leap_status))}},
            1);
      }
    }
    for (const auto& p : r.peers) {
      if (p.offset_seconds) {
        peer_clock.Add({{"peer", p.peer.ToString()}}, *p.offset_seconds);
      }
    }
    AddProbeRun(c->run, &probe_success, &probe_duration, &probe_last_run);
  }

  Family& reload_ok =
      families.Add("calico_bgp_config_last_reload_successful",
                   "1 if the last load of the config file (at start or on SIGHUP) succeeded.");
  Family& reload_ts = families.Add("calico_bgp_config_last_reload_success_timestamp_seconds",
                                   "Unix time of the last successful load of the config file.");
  if (const ConfigStatus* c = snapshot.config.get()) {
    reload_ok.Add({}, c->last_reload_successful ? 1 : 0);
    reload_ts.Add({}, c->last_reload_success_timestamp);
  }

  Family& diagnosis =
      families.Add("calico_bgp_peer_diagnosis",
                   "The diagnosed cause of the BGP session's state, named by the cause label "
                   "(docs/runbook.md); always 1.");
  Family& peers_by_cause = families.Add("calico_bgp_peers", "BGP sessions by diagnosed cause.");
  if (const DiagnosisSnapshot* dg = snapshot.diagnosis.get()) {
    std::map<std::string, std::map<std::string_view, int>> counts;
    diagnosis.Reserve(dg->peers.size());
    for (const PeerDiagnosis& p : dg->peers) {
      const std::string_view cause = CauseName(p.diagnosis.cause);
      diagnosis.Add({{"daemon", p.daemon},
                     {"protocol", p.protocol},
                     {"peer", p.peer},
                     {"cause", std::string(cause)}},
                    1);
      ++counts[p.daemon][cause];
    }
    if (snapshot.bird) {
      for (const DaemonSnapshot& d : snapshot.bird->daemons) {
        counts[d.daemon];  // Every daemon gets its zeros.
      }
    }
    for (const auto& [daemon, by_cause] : counts) {
      for (Cause c : AllCauses()) {
        const auto it = by_cause.find(CauseName(c));
        peers_by_cause.Add({{"daemon", daemon}, {"cause", std::string(CauseName(c))}},
                           it == by_cause.end() ? 0 : it->second);
      }
    }
  }
}

}  // namespace

std::vector<MetricFamily> BuildFamilies(const Snapshot& snapshot) {
  Families families;
  Build(snapshot, families);
  std::vector<MetricFamily> out;
  families.MoveTo(&out);
  return out;
}

void RenderSnapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& sink,
                    std::size_t chunk) {
  Families families(chunk);
  Build(snapshot, families);
  families.Render(sink);
}

std::vector<MetricFamily> Collector::Collect() const {
  const std::shared_ptr<const Snapshot> snapshot = store_->Get();
  return BuildFamilies(*snapshot);
}

std::string SerializeSnapshot(const Snapshot& snapshot, std::size_t chunk) {
  std::string out;
  RenderSnapshot(
      snapshot, [&out](std::string_view text) { out += text; }, chunk);
  return out;
}

}  // namespace cbe
