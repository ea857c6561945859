#include "exporter/metrics/exposition.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/core/bird_round.h"
#include "exporter/core/diagnosis.h"
#include "exporter/metrics/exposition_cache.h"
#include "probes/clock/clock_probe.h"
#include "probes/icmp_probe.h"
#include "probes/listener_probe.h"
#include "probes/mtu_probe.h"
#include "probes/tcp_syn_probe.h"
#include "tests/unit/fixtures.h"

namespace cbe {
namespace {

using probes::ClockSnapshot;
using probes::IcmpSnapshot;
using probes::ListenerSnapshot;
using probes::MtuSnapshot;
using probes::TcpSnapshot;

// The exporter's clock when it read BIRD's "Current server time" (BIRD runs in UTC here).
std::chrono::system_clock::time_point Observed(std::string_view server_time) {
  auto t = bird::ParseBirdTime(server_time);
  return std::chrono::system_clock::time_point(t->value);
}

DaemonSnapshot FromFixtures(const std::string& socket, const std::string& status_file,
                            const std::string& protocols_file, bird::StateTracker* tracker) {
  auto status = bird::ParseShowStatus(testing::ReadFixture(status_file));
  auto protocols = bird::ParseShowProtocols(testing::ReadFixture(protocols_file));
  REQUIRE(status.ok());
  REQUIRE(protocols.ok());
  const std::string server_time =
      status_file.rfind("bird2", 0) == 0 ? "2026-11-26 06:51:24.770" : "2026-11-26 06:48:42";
  return BuildDaemonSnapshot(socket, *status, *protocols, Observed(server_time), tracker);
}

Snapshot Bird1Snapshot() {
  static bird::StateTracker t4;
  static bird::StateTracker t6;
  auto b = std::make_shared<BirdSnapshot>();
  b->daemons.push_back(FromFixtures("/var/run/calico/bird.ctl", "bird1/show_status__all_states.raw",
                                    "bird1/show_protocols_all__all_states.raw", &t4));
  b->daemons.push_back(FromFixtures("/var/run/calico/bird6.ctl",
                                    "bird1/show_status__bird6_all_states.raw",
                                    "bird1/show_protocols_all__bird6_all_states.raw", &t6));
  b->run = ProbeRun{"bird", true, 0.004, 1795668522};
  Snapshot s;
  s.bird = b;
  return s;
}

TEST_CASE("bird round: a session that leaves Established is marked in that round only", "[unit]") {
  bird::StateTracker tracker;
  const auto peer = [&](const std::string& file) {
    DaemonSnapshot d = FromFixtures("/var/run/calico/bird.ctl", "bird1/show_status__all_states.raw",
                                    "bird1/" + file, &tracker);
    REQUIRE(d.peers.size() == 1);
    return d.peers[0];
  };
  const std::string up = "show_protocols_all_Mesh_10_99_0_7__established_ibgp_passive_side.raw";
  const std::string disabled = "show_protocols_all_Mesh_10_99_0_7__protocol_disabled.raw";
  CHECK_FALSE(peer(up).left_established);  // First sighting.
  CHECK_FALSE(peer(up).left_established);
  CHECK(peer(disabled).left_established);
  CHECK_FALSE(peer(disabled).left_established);
  CHECK_FALSE(peer(up).left_established);  // Coming back is no loss.
}

// A store holding every part of `s`, as the rounds publish them.
std::shared_ptr<SnapshotStore> StoreOf(const Snapshot& s) {
  auto store = std::make_shared<SnapshotStore>();
  store->Publish(&Snapshot::bird, s.bird);
  for (std::size_t i = 0; i < s.probes.size(); ++i) {
    store->PublishProbe(i, s.probes[i]);
  }
  store->Publish(&Snapshot::intent, s.intent);
  store->Publish(&Snapshot::config, s.config);
  store->Publish(&Snapshot::diagnosis, s.diagnosis);
  return store;
}

// What GET /metrics serves for `store`: the exposition cache's text (HttpPages sends it as is,
// or its gzip form, which the cache tests show inflates to the same text).
std::string ServedWithBuildInfo(const SnapshotStore& store) {
  ExpositionCache cache(&store);
  std::string text;
  REQUIRE(cache.Get()->WriteText([&](std::string_view piece) {
    text.append(piece);
    return true;
  }));
  return text;
}

// The lines of `text`, each with its newline.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    lines.push_back(text.substr(pos, (end == std::string::npos ? text.size() : end + 1) - pos));
    pos += lines.back().size();
  }
  return lines;
}

// What GET /metrics serves for `store`, without build_info (its revision and compiler vary).
std::string Served(const SnapshotStore& store) {
  const std::string text = ServedWithBuildInfo(store);
  std::string out;
  for (std::string_view line : Lines(text)) {
    if (line.find("calico_bgp_exporter_build_info") == std::string_view::npos) {
      out.append(line);
    }
  }
  return out;
}

std::string Served(const Snapshot& s) { return Served(*StoreOf(s)); }

void CheckGolden(const std::string& actual, const std::string& name) {
  const std::string path = std::string(CBE_FIXTURES_DIR) + "/golden/" + name;
  if (std::getenv("CBE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
  }
  CHECK(actual == testing::ReadFixture("golden/" + name));
}

TEST_CASE("exposition: golden bytes of the served path, BIRD 1.6 (bird and bird6) alone",
          "[unit]") {
  CheckGolden(Served(Bird1Snapshot()), "metrics_bird1.prom");
}

TEST_CASE("exposition: golden bytes of the served path, BIRD 2.0 alone", "[unit]") {
  bird::StateTracker t;
  auto b = std::make_shared<BirdSnapshot>();
  b->daemons.push_back(FromFixtures("/run/bird/bird.ctl", "bird2/show_status__all_states.raw",
                                    "bird2/show_protocols_all__all_states.raw", &t));
  b->run = ProbeRun{"bird", true, 0.006, 1795668684};
  Snapshot s;
  s.bird = b;
  CheckGolden(Served(s), "metrics_bird2.prom");
}

TEST_CASE("exposition: rendering in chunks gives the text of the whole families", "[unit]") {
  // SerializeSnapshot() serializes every `chunk` samples of a family at once and drops the
  // repeated # HELP / # TYPE lines of later chunks: any chunk size gives the text of chunk 0,
  // prometheus-cpp's serialization of each complete family at once.
  const Snapshot s = Bird1Snapshot();
  const std::string whole = SerializeSnapshot(s, 0);
  REQUIRE(whole.find("calico_bgp_peer_up{") != std::string::npos);
  std::size_t families = 0;
  for (std::string_view line : Lines(whole)) {
    families += line.rfind("# TYPE ", 0) == 0 ? 1 : 0;
  }
  REQUIRE(families > 10);
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, kRenderChunk}) {
    CAPTURE(chunk);
    CHECK(SerializeSnapshot(s, chunk) == whole);
  }
  // The BIRD area fills its session families one after the other, so the rendering holds none
  // of their text: with chunk 1 every piece the sink gets has at most one session's sample.
  std::string joined;
  std::size_t pieces = 0;
  RenderSnapshot(
      s,
      [&](std::string_view piece) {
        joined += piece;
        ++pieces;
        std::size_t samples = 0;
        for (std::string_view line : Lines(piece)) {
          samples += line.rfind("calico_bgp_peer_", 0) == 0 ? 1 : 0;
        }
        CHECK(samples <= 1);
      },
      1);
  CHECK(joined == whole);
  CHECK(pieces > families);
}

// The snapshot with a config that asks for every extra series (metrics.extra).
Snapshot WithAllExtras(Snapshot s) {
  ConfigStatus c;
  c.metrics = MetricsConfig{true, true, true, true};
  s.config = std::make_shared<const ConfigStatus>(c);
  return s;
}

TEST_CASE("exposition: values of one peer", "[unit]") {
  const std::string text = Served(WithAllExtras(Bird1Snapshot()));
  const auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("calico_bgp_bird_up{daemon=\"bird\"} 1");
  has("calico_bgp_bird_info{daemon=\"bird\",version=\"1.6.8\",router_id=\"10.99.0.5\"} 1");
  has("calico_bgp_peer_up{daemon=\"bird\",protocol=\"Mesh_10_99_0_1\",peer=\"10.99.0.1\","
      "peer_type=\"node_mesh\"} 1");
  has("calico_bgp_peer_state{daemon=\"bird\",protocol=\"Mesh_10_99_0_2\",peer=\"10.99.0.2\","
      "state=\"Active\"} 1");
  has("calico_bgp_peer_last_error_info{daemon=\"bird\",protocol=\"Global_10_99_0_4\","
      "peer=\"10.99.0.4\",class=\"BGP Error\",message=\"Bad peer AS\"} 1");
  has("calico_bgp_peer_hold_time_seconds{daemon=\"bird\",protocol=\"Mesh_10_99_0_1\","
      "peer=\"10.99.0.1\"} 240");
  // 06:47:46, read when BIRD said 06:48:42 (UTC, Unix 1795675722): 56 s earlier.
  has("calico_bgp_peer_state_change_timestamp_seconds{daemon=\"bird\","
      "protocol=\"Mesh_10_99_0_1\",peer=\"10.99.0.1\"} 1795675666");
  has("calico_bgp_bird_last_reboot_timestamp_seconds{daemon=\"bird\"} 1795675664");
  has("calico_bgp_peer_up{daemon=\"bird6\",protocol=\"Mesh_fd00_99__1\",peer=\"fd00:99::1\","
      "peer_type=\"node_mesh\"} 1");
}

TEST_CASE("exposition: the intent client's answer against BIRD", "[unit]") {
  Snapshot s = Bird1Snapshot();
  auto sessions = std::make_shared<std::vector<intent::Session>>();
  intent::Session b;
  b.protocol = "Mesh_10_99_0_1";
  b.neighbor_address = "10.99.0.1";
  b.neighbor_as = 64512;
  intent::Session gone = b;
  gone.protocol = "Mesh_10_99_0_9";
  gone.neighbor_address = "10.99.0.9";
  gone.source = "BGPConfiguration/default";
  *sessions = {b, gone};
  auto answer = std::make_shared<IntentSnapshot>();
  answer->sessions = sessions;
  answer->up = false;
  answer->error = "the intent service has not read the whole cluster yet (503)";
  answer->last_success_timestamp = 1795675000;
  answer->run = ProbeRun{"intent", false, 0.002, 1795675722};
  s.intent = answer;
  s.diagnosis = DeriveDiagnosis(s, DiagnosisOptions{}, 1795675722);
  const std::string text = Served(s);
  const auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("calico_bgp_intent_up 0");
  has("calico_bgp_intent_last_success_timestamp_seconds 1795675000");
  has("calico_bgp_probe_success{probe=\"intent\"} 0");
  has("calico_bgp_intent_sessions{state=\"expected\"} 2");
  has("calico_bgp_intent_sessions{state=\"missing\"} 1");
  has("calico_bgp_peer_diagnosis{daemon=\"bird\",protocol=\"Mesh_10_99_0_9\",peer=\"10.99.0.9\","
      "cause=\"session_missing\"} 1");
  // Every other session of the recording is one Calico does not ask for here.
  CHECK(text.find("calico_bgp_intent_session_mismatch_info{daemon=\"bird\",protocol=\"Mesh_10_99_"
                  "0_9\",peer=\"10.99.0.9\",kind=\"missing\"") != std::string::npos);
  CHECK(text.find("kind=\"unexpected\"") != std::string::npos);
}

TEST_CASE("exposition: BIRD down shows bird_up 0 and no peers", "[unit]") {
  auto b = std::make_shared<BirdSnapshot>();
  DaemonSnapshot d;
  d.daemon = "bird";
  d.up = false;
  d.error = "connect: No such file or directory";
  b->daemons.push_back(d);
  b->run = ProbeRun{"bird", false, 0.001, 1795668522};
  Snapshot s;
  s.bird = b;
  const std::string text = Served(s);
  CHECK(text.find("calico_bgp_bird_up{daemon=\"bird\"} 0\n") != std::string::npos);
  CHECK(text.find("calico_bgp_probe_success{probe=\"bird\"} 0\n") != std::string::npos);
  CHECK(text.find("calico_bgp_peer_") == std::string::npos);
  CHECK(text.find("calico_bgp_bird_info") == std::string::npos);
}

TEST_CASE("exposition: before the first round only build_info", "[unit]") {
  const SnapshotStore store;
  const std::string text = ServedWithBuildInfo(store);
  const std::vector<std::string_view> lines = Lines(text);
  REQUIRE(lines.size() == 3);  // # HELP, # TYPE, the series.
  for (std::string_view line : lines) {
    CAPTURE(line);
    CHECK(line.find("calico_bgp_exporter_build_info") != std::string_view::npos);
  }
  CHECK(Served(store).empty());
}

// Bird1Snapshot() plus every probe's result for each of its peers, as after a full round of
// the default config: port open, echo answered, path MTU measured, peer clock read.
Snapshot WithProbeResults(Snapshot s) {
  auto tcp = std::make_shared<TcpSnapshot>();
  auto icmp = std::make_shared<IcmpSnapshot>();
  auto mtu = std::make_shared<MtuSnapshot>();
  auto clock = std::make_shared<ClockSnapshot>();
  for (const DaemonSnapshot& d : s.bird->daemons) {
    for (const PeerSnapshot& p : d.peers) {
      const auto address = net::IpAddress::Parse(p.peer);
      REQUIRE(address);
      tcp->ports.push_back({*address, probes::PortState::kOpen, 0.0002, "SYN-ACK"});
      probes::IcmpResult echo{*address, true, 3, 3, 0.0003, ""};
      icmp->results.push_back(echo);
      mtu->results.push_back({*address, "eth0", 1500, 1500, ""});
      probes::PeerClockResult offset;
      offset.peer = *address;
      offset.probed = true;
      offset.offset_seconds = 0.001;
      clock->result.peers.push_back(offset);
    }
  }
  s.SetProbe<TcpSnapshot>(tcp);
  s.SetProbe<IcmpSnapshot>(icmp);
  s.SetProbe<MtuSnapshot>(mtu);
  s.SetProbe<ClockSnapshot>(clock);
  // And the diagnosis derived from it all, as SnapshotStore's deriver adds it.
  auto diagnosis = std::make_shared<DiagnosisSnapshot>();
  diagnosis->peers = DiagnoseSnapshot(s, DiagnosisOptions{}, 1795675722);
  s.diagnosis = diagnosis;
  return s;
}

// The labels of one series line of the exposition text: `name{a="x",b="y\"z"} 1`.
std::map<std::string, std::string> LabelsOf(std::string_view line) {
  std::map<std::string, std::string> labels;
  std::size_t pos = line.find('{');
  if (pos == std::string_view::npos) {
    return labels;
  }
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    const std::size_t eq = line.find("=\"", pos);
    REQUIRE(eq != std::string_view::npos);
    std::string name(line.substr(pos, eq - pos));
    std::string value;
    pos = eq + 2;
    while (pos < line.size() && line[pos] != '"') {
      if (line[pos] == '\\' && pos + 1 < line.size()) {
        ++pos;
      }
      value += line[pos++];
    }
    labels[std::move(name)] = std::move(value);
    pos += line.substr(pos, 2) == "\"," ? 2 : 1;
  }
  return labels;
}

TEST_CASE("exposition: the test's label reader", "[unit]") {
  const auto labels = LabelsOf("m{a=\"x\",b=\"y\\\"z,}\",c=\"\"} 1\n");
  CHECK(labels == std::map<std::string, std::string>{{"a", "x"}, {"b", "y\"z,}"}, {"c", ""}});
  CHECK(LabelsOf("m 1\n").empty());
}

// Series per session in the served text: those naming its protocol, plus those of the probes
// naming only its peer.
std::map<std::string, std::size_t> SeriesPerSession(const Snapshot& s) {
  std::map<std::string, std::string> protocol_of_peer;
  for (const DaemonSnapshot& d : s.bird->daemons) {
    for (const PeerSnapshot& p : d.peers) {
      protocol_of_peer[p.peer.str()] = d.daemon + "/" + p.protocol;
    }
  }
  std::map<std::string, std::size_t> per_session;
  const std::string text = Served(s);
  for (std::string_view line : Lines(text)) {
    if (line.front() == '#') {
      continue;
    }
    auto labels = LabelsOf(line);
    if (!labels["protocol"].empty()) {
      ++per_session[labels["daemon"] + "/" + labels["protocol"]];
    } else if (!labels["peer"].empty()) {
      ++per_session[protocol_of_peer.at(labels["peer"])];
    }
  }
  return per_session;
}

TEST_CASE("exposition: at most 12 series per session by default, with every probe", "[unit]") {
  // A full mesh of N nodes has N-1 sessions per node: each series per session is N^2 in all.
  // An Established session with routes and every probe's result has the most: 12.
  const auto per_session = SeriesPerSession(WithProbeResults(Bird1Snapshot()));
  REQUIRE(per_session.size() == 11);
  std::size_t most = 0;
  for (const auto& [session, n] : per_session) {
    CAPTURE(session);
    CHECK(n <= 12);
    most = std::max(most, n);
  }
  // Established with routes: up, state, info, state change time, imported and exported
  // routes, diagnosis; port state, ICMP RTT and loss, path MTU, clock offset.
  CHECK(most == 12);

  // metrics.extra adds hold and keepalive time, preferred routes, state changes and port RTT.
  const auto extra = SeriesPerSession(WithAllExtras(WithProbeResults(Bird1Snapshot())));
  CHECK(extra.at("bird/Mesh_10_99_0_1") == per_session.at("bird/Mesh_10_99_0_1") + 5);
}

TEST_CASE("exposition: interface MTU once per interface, path MTU per peer names it", "[unit]") {
  const std::string text = Served(WithProbeResults(Bird1Snapshot()));
  CHECK(text.find("calico_bgp_interface_mtu_bytes{interface=\"eth0\"} 1500\n") !=
        std::string::npos);
  CHECK(text.find("calico_bgp_interface_mtu_bytes{",
                  text.find("calico_bgp_interface_mtu_bytes{") + 1) == std::string::npos);
  CHECK(text.find("calico_bgp_peer_path_mtu_bytes{peer=\"10.99.0.1\",interface=\"eth0\"} 1500\n") !=
        std::string::npos);
  CHECK(text.find("calico_bgp_peer_port_rtt_seconds") == std::string::npos);
  CHECK(text.find("calico_bgp_peer_hold_time_seconds") == std::string::npos);
  CHECK(text.find("calico_bgp_peer_state_changes_total") == std::string::npos);
  CHECK(text.find("route=\"preferred\"") == std::string::npos);
}

}  // namespace
}  // namespace cbe

namespace cbe {
namespace {

// The time FullStore's probes ran and its diagnosis was made: BIRD 1.6's server time.
constexpr double kAt = 1795675722;

// Every part of a snapshot, as after a full round of every probe: BIRD, ports, echo, MTU and
// tunnels, listener, clock (kernel, NTP, chrony, peers), config with every extra, diagnosis.
std::shared_ptr<SnapshotStore> FullStore(Snapshot s) {
  s = WithAllExtras(WithProbeResults(std::move(s)));
  auto store = std::make_shared<SnapshotStore>();
  store->Publish(&Snapshot::bird, s.bird);
  auto tcp = std::make_shared<TcpSnapshot>(*s.Probe<TcpSnapshot>());
  tcp->ports.back().state = probes::PortState::kFiltered;
  tcp->ports.back().rtt_seconds.reset();
  tcp->ports.back().reason = "no answer within 2s";
  tcp->run = ProbeRun{"tcp", true, 0.012, kAt};
  store->PublishProbe<TcpSnapshot>(tcp);
  auto icmp = std::make_shared<IcmpSnapshot>(*s.Probe<IcmpSnapshot>());
  icmp->results.back().received = 1;
  icmp->run = ProbeRun{"icmp", true, 0.021, kAt};
  store->PublishProbe<IcmpSnapshot>(icmp);
  auto mtu = std::make_shared<MtuSnapshot>(*s.Probe<MtuSnapshot>());
  mtu->results.back().path_mtu = 1400;
  mtu->tunnels.push_back({"tunl0", "ipip", 1480, 1500, true});
  mtu->tunnels.push_back({"vxlan.calico", "vxlan", 1500, 1500, false});
  mtu->run = ProbeRun{"mtu", true, 0.5, kAt};
  store->PublishProbe<MtuSnapshot>(mtu);
  auto listener = std::make_shared<ListenerSnapshot>();
  listener->result =
      probes::ListenerResult{true, true, true, false, "", {}, {}, std::nullopt, std::nullopt};
  listener->run = ProbeRun{"listener", true, 0.0004, kAt};
  store->PublishProbe<ListenerSnapshot>(listener);
  auto clock = std::make_shared<ClockSnapshot>(*s.Probe<ClockSnapshot>());
  probes::KernelClock kernel;
  kernel.synchronized = false;
  kernel.estimated_error_seconds = 16;
  kernel.max_error_seconds = 16;
  kernel.status = 0x40;
  kernel.status_flags = {"UNSYNC"};
  kernel.state = 5;
  kernel.state_name = "error";
  clock->result.kernel = kernel;
  probes::NtpServerResult ntp;
  ntp.server = "127.0.0.1:11123";
  ntp.address = "127.0.0.1:11123";
  ntp.up = true;
  ntp.stratum = 8;
  ntp.leap = 0;
  ntp.reference_id = "7F7F0101";
  ntp.root_delay_seconds = 0;
  ntp.root_dispersion_seconds = 0.0001;
  clock->result.ntp.push_back(ntp);
  probes::NtpServerResult down;
  down.server = "127.0.0.1:11124";
  down.reason = "timeout";
  clock->result.ntp.push_back(down);
  clock->result.chrony_enabled = true;
  clock->result.chrony_error = "connect: Connection refused";
  clock->run = ProbeRun{"clock", true, 0.003, kAt};
  store->PublishProbe<ClockSnapshot>(clock);
  store->Publish(&Snapshot::config, s.config);
  // The diagnosis of exactly these parts.
  auto current = store->Get();
  auto diagnosis = std::make_shared<DiagnosisSnapshot>();
  diagnosis->peers = DiagnoseSnapshot(*current, DiagnosisOptions{}, kAt);
  store->Publish(&Snapshot::diagnosis, std::shared_ptr<const DiagnosisSnapshot>(diagnosis));
  return store;
}

TEST_CASE("exposition: golden bytes of the served path, every part (BIRD 1.6)", "[unit]") {
  CheckGolden(Served(*FullStore(Bird1Snapshot())), "served_bird1_full.prom");
}

TEST_CASE("exposition: golden bytes of the served path, every part (BIRD 2)", "[unit]") {
  bird::StateTracker t;
  auto b = std::make_shared<BirdSnapshot>();
  b->daemons.push_back(FromFixtures("/run/bird/bird.ctl", "bird2/show_status__all_states.raw",
                                    "bird2/show_protocols_all__all_states.raw", &t));
  b->run = ProbeRun{"bird", true, 0.006, 1795668684};
  Snapshot s;
  s.bird = b;
  CheckGolden(Served(*FullStore(s)), "served_bird2_full.prom");
}

}  // namespace
}  // namespace cbe

namespace cbe {
namespace {

// FullStore() with metrics.sessions: unhealthy, and its BIRD round at the diagnosis' time (the
// fixture's own round time is arbitrary). At kAt the healthy sessions changed state 54 s
// (Node_10_99_0_9), 55 s (Mesh_10_99_0_7), 56 s (Mesh_10_99_0_1) and 62 s (Mesh_fd00_99__1) ago.
std::shared_ptr<SnapshotStore> UnhealthyStore(std::chrono::milliseconds keep_recovered,
                                              SessionSeries sessions = SessionSeries::kUnhealthy) {
  auto store = FullStore(Bird1Snapshot());
  auto bird = std::make_shared<BirdSnapshot>(*store->Get()->bird);
  bird->run.last_run_timestamp = kAt;
  store->Publish(&Snapshot::bird, std::shared_ptr<const BirdSnapshot>(bird));
  ConfigStatus config = *store->Get()->config;
  config.metrics.sessions = sessions;
  config.metrics.keep_recovered = keep_recovered;
  store->Publish(&Snapshot::config, std::make_shared<const ConfigStatus>(config));
  return store;
}

TEST_CASE("exposition: golden bytes of the served path, metrics.sessions unhealthy (BIRD 1.6)",
          "[unit]") {
  CheckGolden(Served(*UnhealthyStore(std::chrono::seconds(55))), "served_bird1_unhealthy.prom");
}

// Whether `line` (a series of the all-mode text) belongs in the unhealthy-mode text: a
// session's series when the session is shown, a probed peer's when one of its sessions is
// shown or none names it, everything else always.
bool Expected(std::string_view line, const std::set<std::string>& shown_sessions,
              const std::set<std::string>& shown_peers,
              const std::set<std::string>& session_peers) {
  auto labels = LabelsOf(line);
  if (!labels["protocol"].empty()) {
    return shown_sessions.contains(labels["daemon"] + "/" + labels["protocol"]);
  }
  const std::string& peer = labels["peer"];
  return peer.empty() || shown_peers.contains(peer) || !session_peers.contains(peer);
}

TEST_CASE("exposition: metrics.sessions unhealthy keeps exactly what is not healthy", "[unit]") {
  const auto store = UnhealthyStore(std::chrono::seconds(55));
  const auto snapshot = store->Get();
  std::set<std::string> shown_sessions;
  std::set<std::string> shown_peers;
  std::set<std::string> session_peers;
  for (const PeerDiagnosis& p : snapshot->diagnosis->peers) {
    session_peers.insert(p.peer.str());
    // Node_10_99_0_9 is healthy, but changed state 54 s ago, less than keep_recovered.
    if (p.diagnosis.cause != Cause::kHealthy || p.protocol == "Node_10_99_0_9") {
      shown_sessions.insert(p.daemon + "/" + p.protocol);
      shown_peers.insert(p.peer.str());
    }
  }
  REQUIRE(shown_sessions.size() == 8);  // Of 11: Mesh_10_99_0_1, _7 and Mesh_fd00_99__1 go.
  const std::string all = Served(*UnhealthyStore(std::chrono::seconds(55), SessionSeries::kAll));
  const std::string unhealthy = Served(*store);
  std::string expected;
  for (std::string_view line : Lines(all)) {
    if (line.front() == '#' || Expected(line, shown_sessions, shown_peers, session_peers)) {
      expected.append(line);
    }
  }
  // Families left without series lose their # HELP and # TYPE lines too.
  std::string without_empty_families;
  const std::vector<std::string_view> lines = Lines(expected);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool header = lines[i].front() == '#';
    const bool next_has_series = [&] {
      for (std::size_t j = i + 1; j < lines.size(); ++j) {
        if (lines[j].rfind("# HELP ", 0) == 0) {
          return false;
        }
        if (lines[j].front() != '#') {
          return true;
        }
      }
      return false;
    }();
    if (!header || next_has_series) {
      without_empty_families.append(lines[i]);
    }
  }
  CHECK(unhealthy == without_empty_families);
  CHECK(unhealthy.find("protocol=\"Mesh_10_99_0_1\"") == std::string::npos);
  CHECK(unhealthy.find("calico_bgp_peer_port_state{peer=\"10.99.0.1\"") == std::string::npos);
  CHECK(unhealthy.find("calico_bgp_peer_up{daemon=\"bird\",protocol=\"Node_10_99_0_9\"") !=
        std::string::npos);
  CHECK(unhealthy.find("calico_bgp_peer_diagnosis{daemon=\"bird\",protocol=\"Global_10_99_0_4\"") !=
        std::string::npos);
}

TEST_CASE("exposition: unhealthy mode shows what changed within keep_recovered", "[unit]") {
  // Every healthy session changed state less than 5 minutes (the default) ago: all shown.
  const std::string all = Served(*UnhealthyStore(std::chrono::minutes(5), SessionSeries::kAll));
  CHECK(Served(*UnhealthyStore(std::chrono::minutes(5))) == all);
  // 1 s: every healthy session's series go, the aggregates stay the same.
  const std::string strict = Served(*UnhealthyStore(std::chrono::seconds(1)));
  CHECK(strict.find("calico_bgp_peer_diagnosis{daemon=\"bird\",protocol=\"Node_10_99_0_9\"") ==
        std::string::npos);
  CHECK(all.find("calico_bgp_peer_diagnosis{daemon=\"bird\",protocol=\"Node_10_99_0_9\"") !=
        std::string::npos);
  // No session of its own says healthy; the aggregates do.
  CHECK(strict.find("cause=\"healthy\"") > strict.find("# HELP calico_bgp_peers "));
  const auto aggregates = [](const std::string& text) {
    return text.substr(text.find("# HELP calico_bgp_peers "));
  };
  CHECK(aggregates(strict) == aggregates(all));
}

// A snapshot of sessions diagnosed as given, each with a TCP probe result for its peer.
Snapshot Sessions(const std::vector<PeerDiagnosis>& sessions,
                  const std::vector<std::string>& probed) {
  Snapshot s;
  auto bird = std::make_shared<BirdSnapshot>();
  bird->run = ProbeRun{"bird", true, 0.001, kAt};
  s.bird = bird;
  auto diagnosis = std::make_shared<DiagnosisSnapshot>();
  diagnosis->peers = sessions;
  s.diagnosis = diagnosis;
  auto tcp = std::make_shared<TcpSnapshot>();
  for (const std::string& address : probed) {
    tcp->ports.push_back({*net::IpAddress::Parse(address), probes::PortState::kOpen, 0.001, ""});
  }
  tcp->run = ProbeRun{"tcp", true, 0.01, kAt};
  s.SetProbe<TcpSnapshot>(tcp);
  ConfigStatus c;
  c.metrics.sessions = SessionSeries::kUnhealthy;
  s.config = std::make_shared<const ConfigStatus>(c);
  return s;
}

PeerDiagnosis Session(std::string protocol, std::string peer, std::string peer_type, Cause cause) {
  PeerDiagnosis p;
  p.daemon = "bird";
  p.protocol = std::move(protocol);
  p.peer = std::move(peer);
  p.peer_type = std::move(peer_type);
  p.state = cause == Cause::kHealthy ? "Established" : "Active";
  p.state_change_timestamp = kAt - 3600;
  p.diagnosis.cause = cause;
  return p;
}

TEST_CASE("exposition: a probed peer's series follow its sessions; its type is theirs", "[unit]") {
  const std::string text =
      Served(Sessions({Session("Global_10_0_0_1", "10.0.0.1", "global", Cause::kHealthy),
                       Session("Mesh_10_0_0_1", "10.0.0.1", "node_mesh", Cause::kHealthy),
                       Session("Mesh_10_0_0_2", "10.0.0.2", "node_mesh", Cause::kHealthy),
                       Session("Node_10_0_0_2", "10.0.0.2", "node_specific", Cause::kPortClosed),
                       Session("Mesh_fe80__3", "fe80::3%eth0", "node_mesh", Cause::kPortFiltered)},
                      {"10.0.0.1", "10.0.0.2", "fe80::3", "192.0.2.1"}));
  const auto has = [&](const std::string& line) {
    INFO(line << "\n" << text);
    return text.find(line + "\n") != std::string::npos;
  };
  // Both sessions of 10.0.0.1 healthy: its probe series go. One of 10.0.0.2's is not: they
  // stay. A link-local neighbour's scope is not part of the probed address. 192.0.2.1 has no
  // session (peers.static): always shown.
  CHECK_FALSE(has("calico_bgp_peer_port_state{peer=\"10.0.0.1\",state=\"open\"} 1"));
  CHECK(has("calico_bgp_peer_port_state{peer=\"10.0.0.2\",state=\"open\"} 1"));
  CHECK(has("calico_bgp_peer_port_state{peer=\"fe80::3\",state=\"open\"} 1"));
  CHECK(has("calico_bgp_peer_port_state{peer=\"192.0.2.1\",state=\"open\"} 1"));
  // Counted once each, under the first of node_mesh, node_specific, global; none without one.
  CHECK(has("calico_bgp_peers_port_state{peer_type=\"node_mesh\",state=\"open\"} 3"));
  CHECK(has("calico_bgp_peers_port_state{peer_type=\"none\",state=\"open\"} 1"));
  CHECK(has("calico_bgp_peers_port_state{peer_type=\"none\",state=\"closed\"} 0"));
  CHECK(text.find("calico_bgp_peers_port_state{peer_type=\"global\"") == std::string::npos);
  // Sessions by daemon, peer type and cause, zeros only for the types that have a session.
  CHECK(has("calico_bgp_peers{daemon=\"bird\",peer_type=\"global\",cause=\"healthy\"} 1"));
  CHECK(has("calico_bgp_peers{daemon=\"bird\",peer_type=\"node_mesh\",cause=\"healthy\"} 2"));
  CHECK(has("calico_bgp_peers{daemon=\"bird\",peer_type=\"node_mesh\",cause=\"port_filtered\"} 1"));
  CHECK(has("calico_bgp_peers{daemon=\"bird\",peer_type=\"node_specific\",cause=\"unknown\"} 0"));
  CHECK(text.find("peer_type=\"other\"") == std::string::npos);
  CHECK(has("calico_bgp_peers_established{daemon=\"bird\",peer_type=\"node_mesh\"} 2"));
  CHECK(has("calico_bgp_peers_established{daemon=\"bird\",peer_type=\"node_specific\"} 0"));
  CHECK(has("calico_bgp_peers_down_changes_total{daemon=\"bird\",peer_type=\"global\"} 0"));
  CHECK(
      has("calico_bgp_peer_diagnosis{daemon=\"bird\",protocol=\"Node_10_0_0_2\","
          "peer=\"10.0.0.2\",cause=\"port_closed\"} 1"));
  CHECK(text.find("protocol=\"Mesh_10_0_0_2\"") == std::string::npos);
}

TEST_CASE("exposition: without a diagnosis metrics.sessions unhealthy hides nothing", "[unit]") {
  Snapshot s = Bird1Snapshot();
  ConfigStatus c;
  c.metrics.sessions = SessionSeries::kUnhealthy;
  c.metrics.keep_recovered = std::chrono::milliseconds(1);
  s.config = std::make_shared<const ConfigStatus>(c);
  Snapshot all = Bird1Snapshot();
  all.config = std::make_shared<const ConfigStatus>(ConfigStatus{});
  CHECK(Served(s) == Served(all));
}

TEST_CASE("exposition: losses of Established are counted per daemon and peer type", "[unit]") {
  Snapshot s = Sessions({Session("Mesh_10_0_0_1", "10.0.0.1", "node_mesh", Cause::kHealthy)}, {});
  auto bird = std::make_shared<BirdSnapshot>(*s.bird);
  DaemonSnapshot d;
  d.daemon = "bird";
  d.up = true;
  d.down_changes_total = {{"node_mesh", 3}, {"global", 1}};  // Global's sessions went away.
  bird->daemons.push_back(d);
  s.bird = bird;
  const std::string text = Served(s);
  CHECK(text.find("calico_bgp_peers_down_changes_total{daemon=\"bird\",peer_type=\"global\"} 1\n"
                  "calico_bgp_peers_down_changes_total{daemon=\"bird\",peer_type=\"node_mesh\"} "
                  "3\n") != std::string::npos);
}

}  // namespace
}  // namespace cbe
