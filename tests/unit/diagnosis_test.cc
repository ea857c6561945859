#include "exporter/core/diagnosis.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "exporter/core/check.h"
#include "probes/clock/icmp_timestamp.h"
#include "probes/icmp_probe.h"
#include "probes/mtu_probe.h"
#include "probes/tcp_syn_probe.h"

namespace cbe {
namespace {

using probes::PortState;
using probes::TcpSnapshot;

// A session that is down, with no evidence at all yet.
Evidence Down() {
  Evidence e;
  e.protocol_state = "start";
  e.bgp_state = "Active";
  e.state_age_seconds = 3600;
  return e;
}

struct Row {
  const char* name;
  Evidence evidence;
  Cause expected;
};

// Builds the table: each row starts from Down() and edits it.
class Rows {
 public:
  template <typename F>
  void Add(const char* name, Cause expected, F edit) {
    Evidence e = Down();
    edit(e);
    rows.push_back({name, e, expected});
  }
  std::vector<Row> rows;
};

// BIRD itself, an admin-down session, and what Calico asks for.
void AddBirdAndIntentRows(Rows& t) {
  t.Add("Established is healthy", Cause::kHealthy, [](Evidence& e) {
    e.protocol_state = "up";
    e.bgp_state = "Established";
    e.port = PortState::kFiltered;  // A port check does not override a working session.
  });
  t.Add("BIRD down beats everything", Cause::kBirdDown, [](Evidence& e) {
    e.bird_up = false;
    e.bgp_state = "Established";
  });
  t.Add("disabled: down with no error", Cause::kAdminDown, [](Evidence& e) {
    e.protocol_state = "down";
    e.bgp_state = "Down";
    e.port = PortState::kClosed;
  });
  t.Add("a failing session Calico no longer asks for", Cause::kUnexpectedSession, [](Evidence& e) {
    e.unexpected = true;
    e.unexpected_detail = "BIRD runs Global_10_0_0_9, which Calico does not ask for";
    e.last_error = bird::ClassifyLastError("BGP Error: Bad peer AS");  // Moot: it should not run.
  });
  t.Add("an unexpected session that works is healthy", Cause::kHealthy, [](Evidence& e) {
    e.unexpected = true;
    e.protocol_state = "up";
    e.bgp_state = "Established";
  });
}

// What the BGP errors BIRD keeps say: AS mismatch, router ID, hold timer.
void AddBgpErrorRows(Rows& t) {
  t.Add("wrong AS on this side", Cause::kAsMismatch, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("BGP Error: Bad peer AS");
    e.port = PortState::kOpen;
  });
  t.Add("wrong AS on the other side", Cause::kAsMismatch,
        [](Evidence& e) { e.last_error = bird::ClassifyLastError("Received: Bad peer AS"); });
  t.Add("wrong AS seen earlier, a socket error now", Cause::kAsMismatch, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Socket: Connection reset by peer");
    e.bgp_error = bird::ClassifyLastError("BGP Error: Bad peer AS");
  });
  t.Add("AS mismatch beats a filtered port", Cause::kAsMismatch, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("BGP Error: Bad peer AS");
    e.port = PortState::kFiltered;
  });
  t.Add("duplicate router ID", Cause::kRouterIdConflict, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("BGP Error: Bad BGP identifier");
  });
  t.Add("hold timer with a smaller path MTU", Cause::kHoldTimerExpiredMtu, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("BGP Error: Hold timer expired");
    e.interface_mtu = 1500;
    e.path_mtu = 1400;
  });
  t.Add("hold timer, MTU fine", Cause::kHoldTimerExpired, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Received: Hold timer expired");
    e.interface_mtu = 1500;
    e.path_mtu = 1500;
  });
  t.Add("hold timer, MTU not measured", Cause::kHoldTimerExpired, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("BGP Error: Hold timer expired");
  });
}

// What the probes measured: unreachable, filtered, closed, nothing listening.
void AddReachabilityRows(Rows& t) {
  t.Add("ICMP host unreachable", Cause::kPeerUnreachable, [](Evidence& e) {
    e.port = PortState::kUnreachable;
    e.port_reason = "icmp type 3 code 1 (host unreachable)";
  });
  t.Add("no answer on 179 and no echo either", Cause::kPeerUnreachable, [](Evidence& e) {
    e.port = PortState::kFiltered;
    e.icmp_loss_ratio = 1.0;
  });
  t.Add("filtered port, the peer answers echo", Cause::kPortFiltered, [](Evidence& e) {
    e.bgp_state = "Connect";
    e.port = PortState::kFiltered;
    e.icmp_loss_ratio = 0.0;
  });
  t.Add("filtered port, ICMP not measured", Cause::kPortFiltered,
        [](Evidence& e) { e.port = PortState::kFiltered; });
  t.Add("closed port", Cause::kPortClosed, [](Evidence& e) {
    e.port = PortState::kClosed;
    e.last_error = bird::ClassifyLastError("Socket: Connection refused");
  });
  t.Add("passive and nothing listens here", Cause::kLocalNotListening, [](Evidence& e) {
    e.bgp_state = "Passive";
    e.local_listener = false;
    e.port = PortState::kOpen;
  });
  t.Add("the peer listens but we do not", Cause::kLocalNotListening, [](Evidence& e) {
    e.local_listener = false;
    e.port = PortState::kOpen;
  });
  t.Add("not listening here, but the peer's port is closed: the peer first", Cause::kPortClosed,
        [](Evidence& e) {
          e.local_listener = false;
          e.port = PortState::kClosed;
        });
}

// Clocks, a session still negotiating, and a recent change.
void AddClockAndTimingRows(Rows& t) {
  t.Add("peer clock off by 2.5 s", Cause::kClockSkew, [](Evidence& e) {
    e.port = PortState::kOpen;
    e.peer_clock_offset_seconds = -2.5;
  });
  t.Add("NTP offset beyond the threshold", Cause::kClockSkew, [](Evidence& e) {
    e.port = PortState::kOpen;
    e.ntp_offset_seconds = 0.3;
  });
  t.Add("a small offset is no cause", Cause::kUnknown, [](Evidence& e) {
    e.port = PortState::kOpen;
    e.peer_clock_offset_seconds = 0.01;
  });
  t.Add("OpenSent", Cause::kNegotiating, [](Evidence& e) {
    e.bgp_state = "OpenSent";
    e.port = PortState::kOpen;
  });
  t.Add("OpenConfirm", Cause::kNegotiating, [](Evidence& e) { e.bgp_state = "OpenConfirm"; });
  t.Add("changed seconds ago", Cause::kNegotiating, [](Evidence& e) {
    e.port = PortState::kOpen;
    e.state_age_seconds = 5;
  });
  t.Add("a firewall beats a recent change", Cause::kPortFiltered, [](Evidence& e) {
    e.port = PortState::kFiltered;
    e.state_age_seconds = 5;
  });
}

// BIRD's socket errors without a probe, this node's address, BIRD's listen socket.
void AddBirdSocketAndNodeRows(Rows& t) {
  // BIRD's own evidence when no port probe ran (probes off, not yet run, no CAP_NET_RAW).
  t.Add("unprobed, BIRD saw the RST", Cause::kPortClosed, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Socket: Connection refused");
    e.state_age_seconds = 5;  // Even right after a change: BIRD itself was refused.
  });
  t.Add("unprobed, BIRD has no route", Cause::kPeerUnreachable,
        [](Evidence& e) { e.last_error = bird::ClassifyLastError("Socket: No route to host"); });
  t.Add("unprobed, BIRD's network is unreachable", Cause::kPeerUnreachable, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Socket: Network is unreachable");
  });
  t.Add("unprobed, BIRD's connects time out", Cause::kPortFiltered, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Socket: Connection timed out");
  });
  t.Add("unprobed, Connect for long without an answer", Cause::kPortFiltered,
        [](Evidence& e) { e.bgp_state = "Connect"; });
  t.Add("a probe beats BIRD's older error", Cause::kPortFiltered, [](Evidence& e) {
    e.port = PortState::kFiltered;
    e.last_error = bird::ClassifyLastError("Socket: Connection refused");
  });
  t.Add("this node's router ID is docker0's address", Cause::kNodeAddress, [](Evidence& e) {
    e.node_address_problem = "this node's router ID 172.17.0.1 is the address of docker0";
    e.last_error = bird::ClassifyLastError("Socket: Connection reset by peer");
    e.port = PortState::kOpen;
  });
  t.Add("a bad router ID does not hide an AS mismatch", Cause::kAsMismatch, [](Evidence& e) {
    e.node_address_problem = "this node's router ID 127.0.0.1 is a loopback address";
    e.last_error = bird::ClassifyLastError("BGP Error: Bad peer AS");
  });
  t.Add("BIRD cannot listen", Cause::kListenSocket, [](Evidence& e) {
    e.last_error = bird::ClassifyLastError("Error: No listening socket");
    e.port = PortState::kOpen;
  });
}

// Sessions up with or without routes, and what nothing explains.
void AddRoutesAndRestRows(Rows& t) {
  t.Add("a mesh session up for long with no routes", Cause::kNoRoutes, [](Evidence& e) {
    e.protocol_state = "up";
    e.bgp_state = "Established";
    e.peer_type = "node_mesh";
    e.routes_imported = 0;
    e.routes_exported = 0;
    e.state_age_seconds = 601;
  });
  t.Add("a mesh session with routes in one direction is healthy", Cause::kHealthy, [](Evidence& e) {
    e.protocol_state = "up";
    e.bgp_state = "Established";
    e.peer_type = "node_mesh";
    e.routes_imported = 0;
    e.routes_exported = 3;
    e.state_age_seconds = 3600;
  });
  t.Add("an empty global peer may export nothing", Cause::kHealthy, [](Evidence& e) {
    e.protocol_state = "up";
    e.bgp_state = "Established";
    e.peer_type = "global";
    e.no_routes_applies = false;  // diagnosis.no_routes_peer_types lists only node_mesh.
    e.routes_imported = 0;
    e.routes_exported = 0;
    e.state_age_seconds = 3600;
  });
  t.Add("an empty mesh session just up", Cause::kHealthy, [](Evidence& e) {
    e.protocol_state = "up";
    e.bgp_state = "Established";
    e.peer_type = "node_mesh";
    e.routes_imported = 0;
    e.routes_exported = 0;
    e.state_age_seconds = 30;
  });
  t.Add("nothing measured", Cause::kUnknown, [](Evidence&) {});
  t.Add("open port, no error, long down", Cause::kUnknown,
        [](Evidence& e) { e.port = PortState::kOpen; });
}

std::vector<Row> Table() {
  Rows t;
  AddBirdAndIntentRows(t);
  AddBgpErrorRows(t);
  AddReachabilityRows(t);
  AddClockAndTimingRows(t);
  AddBirdSocketAndNodeRows(t);
  AddRoutesAndRestRows(t);
  return std::move(t.rows);
}

TEST_CASE("diagnosis: evidence to cause, with precedence", "[unit]") {
  for (const Row& row : Table()) {
    CAPTURE(row.name);
    const Diagnosis d = Diagnose(row.evidence);
    CAPTURE(d.evidence);
    CHECK(CauseName(d.cause) == CauseName(row.expected));
    CHECK_FALSE(d.evidence.empty());
  }
}

TEST_CASE("diagnosis: the table covers every cause", "[unit]") {
  std::set<Cause> covered;
  for (const Row& row : Table()) {
    covered.insert(row.expected);
  }
  // Not from one session's evidence: a row of its own (the intent test below).
  covered.insert(Cause::kSessionMissing);
  for (Cause c : AllCauses()) {
    CAPTURE(CauseName(c));
    CHECK(covered.contains(c));
    CHECK_FALSE(NextStep(c).empty());
  }
}

TEST_CASE("diagnosis: the evidence says which source decided, and the configured port", "[unit]") {
  Evidence e = Down();
  e.last_error = bird::ClassifyLastError("Socket: Connection refused");
  e.port_number = 1179;
  CHECK(Diagnose(e).evidence ==
        "BIRD: last error: Socket: Connection refused; port 1179 not probed");
  e.port = PortState::kFiltered;
  e.port_reason = "no answer within 2s";
  CHECK(Diagnose(e).evidence ==
        "port 1179: no answer within 2s; BIRD disagrees: last error: Socket: Connection refused");
  e.port = PortState::kClosed;
  e.port_reason = "RST";
  CHECK(Diagnose(e).evidence == "port 1179: RST; last error: Socket: Connection refused");
}

TEST_CASE("diagnosis: BIRD's own connect attempts, without a port probe", "[unit]") {
  Evidence e = Down();
  e.last_error = bird::ClassifyLastError("Socket: Connection timed out");
  CHECK(Diagnose(e).cause == Cause::kPortFiltered);
  CHECK(Diagnose(e).evidence ==
        "BIRD: last error: Socket: Connection timed out: filtered or unreachable; port 179 not "
        "probed");
  e.last_error = bird::ClassifyLastError("Socket: No route to host");
  CHECK(Diagnose(e).cause == Cause::kPeerUnreachable);
  CHECK(Diagnose(e).evidence == "BIRD: last error: Socket: No route to host; port 179 not probed");
  e.last_error = {};
  e.bgp_state = "Connect";
  e.state_age_seconds = 7200;
  CHECK(Diagnose(e).cause == Cause::kPortFiltered);
  CHECK(Diagnose(e).evidence ==
        "BIRD: in Connect for 2h0m without an answer: filtered or unreachable; port 179 not "
        "probed");
}

TEST_CASE("diagnosis: a hold timer expiry says what was pending when the session was up",
          "[unit]") {
  Evidence e = Down();
  e.last_error = bird::ClassifyLastError("BGP Error: Hold timer expired");
  e.tx_pending_when_last_up = 65536;
  e.path_mtu = 1400;
  e.interface_mtu = 1500;
  const Diagnosis d = Diagnose(e);
  CHECK(d.cause == Cause::kHoldTimerExpiredMtu);
  CHECK(d.evidence ==
        "last error: BGP Error: Hold timer expired; 65536 bytes were pending to the peer when the "
        "session was last up; path MTU 1400 < interface MTU 1500");
  e.tx_pending_when_last_up = 0;
  e.path_mtu.reset();
  CHECK(Diagnose(e).evidence == "last error: BGP Error: Hold timer expired");
}

TEST_CASE("diagnosis: listen_socket names the process that holds the port", "[unit]") {
  Evidence e = Down();
  e.last_error = bird::ClassifyLastError("Error: No listening socket");
  CHECK(Diagnose(e).evidence ==
        "BIRD: last error: Error: No listening socket: BIRD could not open its listening socket");
  e.listener_holders = "gobgpd (pid 4242)";
  const Diagnosis d = Diagnose(e);
  CHECK(d.cause == Cause::kListenSocket);
  CHECK(d.evidence ==
        "BIRD: last error: Error: No listening socket: BIRD could not open its listening socket; "
        "port 179 is held by gobgpd (pid 4242)");
  e.listener_holders = kHoldersHidden;
  CHECK(Diagnose(e).evidence ==
        "BIRD: last error: Error: No listening socket: BIRD could not open its listening socket; "
        "a process this exporter cannot see holds port 179 (`ss -ltnp 'sport = :179'` as root on "
        "the node names it)");
  e.listener_holders = kHoldersNone;
  CHECK(Diagnose(e).evidence ==
        "BIRD: last error: Error: No listening socket: BIRD could not open its listening socket; "
        "nothing listens on port 179 now");
}

TEST_CASE("diagnosis: unknown keeps the raw evidence", "[unit]") {
  Evidence e = Down();
  e.last_error = bird::ClassifyLastError("Socket: Connection closed");
  e.port = PortState::kOpen;
  e.icmp_loss_ratio = 0.0;
  const Diagnosis d = Diagnose(e);
  CHECK(d.cause == Cause::kUnknown);
  CHECK(d.evidence ==
        "state start/Active, last error: Socket: Connection closed, port 179: open, ICMP loss 0");
}

TEST_CASE("diagnosis: measured figures in the evidence, as %g writes them", "[unit]") {
  Evidence e = Down();
  e.state_age_seconds = 12.345;
  CHECK(Diagnose(e).evidence == "state changed 12 s ago");
  e.state_age_seconds = 0.5;
  CHECK(Diagnose(e).evidence == "state changed 0.5 s ago");
  e = Down();
  e.peer_clock_offset_seconds = -0.25349;
  CHECK(Diagnose(e).evidence == "peer clock offset -0.253 s exceeds 0.1 s");
  e.peer_clock_offset_seconds.reset();
  e.ntp_offset_seconds = 1234.5;
  e.max_clock_offset_seconds = 0.0005;
  CHECK(Diagnose(e).evidence == "clock offset to NTP 1.23e+03 s exceeds 0.0005 s");
  e = Down();
  e.port = PortState::kOpen;
  e.icmp_loss_ratio = 1.0 / 3.0;
  CHECK(Diagnose(e).evidence == "state start/Active, port 179: open, ICMP loss 0.33");
}

// A BIRD that answers, with this node's router ID.
DaemonSnapshot UpDaemon(std::string daemon, std::string router_id) {
  DaemonSnapshot d;
  d.daemon = std::move(daemon);
  d.up = true;
  d.router_id = std::move(router_id);
  return d;
}

// A mesh session BIRD is still trying to open (start/Active).
PeerSnapshot OpeningMeshSession(std::string protocol, std::string peer) {
  PeerSnapshot p;
  p.protocol = std::move(protocol);
  p.peer = std::move(peer);
  p.peer_type = "node_mesh";
  p.state = "Active";
  p.protocol_state = "start";
  return p;
}

Snapshot Diagnosed() {
  auto bird = std::make_shared<BirdSnapshot>();
  DaemonSnapshot up;
  up.daemon = "bird";
  up.socket = "/var/run/calico/bird.ctl";
  up.up = true;
  up.version = "1.6.8";
  up.router_id = "10.0.0.5";
  PeerSnapshot ok;
  ok.protocol = "Mesh_10_0_0_1";
  ok.peer = "10.0.0.1";
  ok.peer_type = "node_mesh";
  ok.state = "Established";
  ok.protocol_state = "up";
  ok.up = true;
  ok.state_change_timestamp = 1000;
  PeerSnapshot bad = ok;
  bad.protocol = "Mesh_10_0_0_2";
  bad.peer = "10.0.0.2";
  bad.state = "Active";
  bad.protocol_state = "start";
  bad.up = false;
  up.peers = {ok, bad};
  DaemonSnapshot down;
  down.daemon = "bird6";
  down.socket = "/var/run/calico/bird6.ctl";
  down.up = false;
  down.error = "connect: Connection refused";
  PeerSnapshot v6 = ok;
  v6.protocol = "Mesh_fd00__1";
  v6.peer = "fd00::1";
  down.last_known_peers = {v6};
  bird->daemons = {up, down};
  auto tcp = std::make_shared<TcpSnapshot>();
  tcp->ports.push_back({*net::IpAddress::Parse("10.0.0.2"), PortState::kFiltered, std::nullopt,
                        "no answer within 2s"});
  Snapshot s;
  s.bird = bird;
  s.SetProbe<TcpSnapshot>(tcp);
  auto d = std::make_shared<DiagnosisSnapshot>();
  d->peers = DiagnoseSnapshot(s, DiagnosisOptions{}, 1000 + 7200);
  s.diagnosis = d;
  return s;
}

TEST_CASE("diagnosis: a snapshot's sessions, and the last known ones of a BIRD that is down",
          "[unit]") {
  const Snapshot s = Diagnosed();
  REQUIRE(s.diagnosis->peers.size() == 3);
  CHECK(s.diagnosis->peers[0].diagnosis.cause == Cause::kHealthy);
  CHECK(s.diagnosis->peers[1].diagnosis.cause == Cause::kPortFiltered);
  CHECK(s.diagnosis->peers[2].protocol == "Mesh_fd00__1");
  CHECK(s.diagnosis->peers[2].diagnosis.cause == Cause::kBirdDown);
  CHECK_FALSE(AllHealthy(s));
}

TEST_CASE("diagnosis: the interface that holds this node's router ID or source address", "[unit]") {
  auto bird = std::make_shared<BirdSnapshot>();
  DaemonSnapshot d = UpDaemon("bird", "10.0.0.5");
  const PeerSnapshot v4 = OpeningMeshSession("Mesh_10_0_0_1", "10.0.0.1");
  PeerSnapshot v6_up = v4;
  v6_up.protocol = "Mesh_fd00__1";
  v6_up.peer = "fd00::1";
  v6_up.state = "Established";
  v6_up.protocol_state = "up";
  v6_up.up = true;
  v6_up.source_address = "fd00::5";
  PeerSnapshot v6_down = v4;
  v6_down.protocol = "Mesh_fd00__2";
  v6_down.peer = "fd00::2";
  d.peers = {v4, v6_up, v6_down};
  d.local_addresses = {{"10.0.0.5", true, "eth0", "", false}, {"fd00::5", true, "lo", "", true}};
  bird->daemons = {d};
  Snapshot s;
  s.bird = bird;
  auto diagnosed = DiagnoseSnapshot(s, DiagnosisOptions{}, 5000);
  REQUIRE(diagnosed.size() == 3);
  // The router ID is on eth0: the IPv4 session is judged on other evidence. The IPv6 source
  // address (seen on the working session) is on lo: the failing IPv6 session is node_address.
  CHECK(diagnosed[0].diagnosis.cause != Cause::kNodeAddress);
  CHECK(diagnosed[1].diagnosis.cause == Cause::kHealthy);
  CHECK(diagnosed[2].diagnosis.cause == Cause::kNodeAddress);
  CHECK(diagnosed[2].diagnosis.evidence ==
        "this node's BGP source address fd00::5 is on lo, the loopback interface");
  // The router ID on Docker's bridge: every failing session of the daemon.
  bird->daemons[0].local_addresses[0] = {"10.0.0.5", true, "docker0", "bridge", false};
  diagnosed = DiagnoseSnapshot(s, DiagnosisOptions{}, 5000);
  for (std::size_t i : {std::size_t{0}, std::size_t{2}}) {
    CAPTURE(diagnosed[i].protocol);
    CHECK(diagnosed[i].diagnosis.cause == Cause::kNodeAddress);
    CHECK(diagnosed[i].diagnosis.evidence.rfind(
              "this node's router ID 10.0.0.5 is on docker0, Docker's bridge", 0) == 0);
  }
}

// BIRD runs Mesh_10_0_0_1 (Established) and Global_10_0_0_9 (Active) in bird, nothing in bird6;
// Calico asks for Mesh_10_0_0_1, Mesh_10_0_0_2 and Node_fd00__9.
struct IntentCase {
  std::shared_ptr<BirdSnapshot> bird;  // The snapshot's, for a test to change.
  Snapshot snapshot;
};

IntentCase WithIntent() {
  auto bird = std::make_shared<BirdSnapshot>();
  DaemonSnapshot v4;
  v4.daemon = "bird";
  v4.up = true;
  v4.router_id = "10.0.0.5";
  PeerSnapshot up;
  up.protocol = "Mesh_10_0_0_1";
  up.peer = "10.0.0.1";
  up.peer_type = "node_mesh";
  up.neighbor_as = "64512";
  up.state = "Established";
  up.protocol_state = "up";
  up.up = true;
  PeerSnapshot stale = up;
  stale.protocol = "Global_10_0_0_9";
  stale.peer = "10.0.0.9";
  stale.peer_type = "global";
  stale.neighbor_as = "65009";
  stale.state = "Active";
  stale.protocol_state = "start";
  stale.up = false;
  v4.peers = {up, stale};
  DaemonSnapshot v6 = v4;
  v6.daemon = "bird6";
  v6.peers.clear();
  bird->daemons = {v4, v6};
  auto sessions = std::make_shared<std::vector<intent::Session>>();
  intent::Session mesh;
  mesh.protocol = "Mesh_10_0_0_1";
  mesh.neighbor_address = "10.0.0.1";
  mesh.neighbor_as = 64512;
  intent::Session missing4 = mesh;
  missing4.protocol = "Mesh_10_0_0_2";
  missing4.neighbor_address = "10.0.0.2";
  missing4.source = "BGPConfiguration/default";
  intent::Session missing6 = mesh;
  missing6.protocol = "Node_fd00__9";
  missing6.family = 6;
  missing6.neighbor_address = "fd00::9";
  missing6.peer_type = intent::PeerType::kNode;
  *sessions = {mesh, missing4, missing6};
  auto answer = std::make_shared<IntentSnapshot>();
  answer->sessions = sessions;
  answer->up = true;
  Snapshot snapshot;
  snapshot.bird = bird;
  snapshot.intent = answer;
  return {bird, snapshot};
}

TEST_CASE("intent: missing, unexpected and drifted sessions against BIRD's", "[unit]") {
  auto [bird, s] = WithIntent();
  const auto d = DeriveDiagnosis(s, DiagnosisOptions{}, 5000);
  REQUIRE(d->intent);
  CHECK(d->intent->expected == 3);
  REQUIRE(d->peers.size() == 4);
  CHECK(d->peers[0].diagnosis.cause == Cause::kHealthy);
  CHECK(d->peers[1].protocol == "Global_10_0_0_9");
  CHECK(d->peers[1].diagnosis.cause == Cause::kUnexpectedSession);
  // The missing ones: rows of their own, in the daemon of their family.
  CHECK(d->peers[2].protocol == "Mesh_10_0_0_2");
  CHECK(d->peers[2].daemon == "bird");
  CHECK(d->peers[2].peer == "10.0.0.2");
  CHECK(d->peers[2].peer_type == "node_mesh");
  CHECK(d->peers[2].diagnosis.cause == Cause::kSessionMissing);
  CHECK(d->peers[2].diagnosis.evidence.rfind("intent: ", 0) == 0);
  CHECK(d->peers[3].protocol == "Node_fd00__9");
  CHECK(d->peers[3].daemon == "bird6");
  CHECK(d->peers[3].peer_type == "node_specific");
  Snapshot diagnosed = s;
  diagnosed.diagnosis = d;
  CHECK(FormatCheckTable(diagnosed, 5000).find("(not in BIRD)") != std::string::npos);

  // A BIRD daemon down: nothing can be said missing.
  bird->daemons[1].up = false;
  CHECK_FALSE(DeriveDiagnosis(s, DiagnosisOptions{}, 5000)->intent);
  // No answer: no comparison.
  s.intent.reset();
  CHECK_FALSE(DeriveDiagnosis(s, DiagnosisOptions{}, 5000)->intent);
}

TEST_CASE("diagnosis: derived into recycled rows, the same rows", "[unit]") {
  const Snapshot s = WithIntent().snapshot;
  const auto d = DeriveDiagnosis(s, DiagnosisOptions{}, 5000);
  // In the vector a released diagnosis gave back.
  auto buffers = std::make_shared<VectorRecycler<PeerDiagnosis>>();
  auto first = DeriveDiagnosis(s, DiagnosisOptions{}, 5000, buffers);
  const auto* rows = first->peers.data();
  first.reset();
  REQUIRE(buffers->SpareCapacities().size() == 1);
  const auto again = DeriveDiagnosis(s, DiagnosisOptions{}, 5000, buffers);
  CHECK(again->peers.data() == rows);
  CHECK(buffers->SpareCapacities().empty());
  REQUIRE(again->peers.size() == d->peers.size());
  for (std::size_t i = 0; i < d->peers.size(); ++i) {
    CHECK(again->peers[i].protocol == d->peers[i].protocol);
    CHECK(again->peers[i].daemon == d->peers[i].daemon);
    CHECK(again->peers[i].diagnosis.cause == d->peers[i].diagnosis.cause);
    CHECK(again->peers[i].diagnosis.evidence == d->peers[i].diagnosis.evidence);
  }
}

// The sizes the README gives (issue 19: a round keeps two vectors of each), on the platform
// they were measured on: x86-64 with libstdc++.
TEST_CASE("snapshot: a session, its diagnosis and the probes' results keep the README's sizes",
          "[unit]") {
#if defined(__x86_64__) && defined(__GLIBCXX__)
  CHECK(sizeof(PeerSnapshot) == 336);
  CHECK(sizeof(PeerDiagnosis) == 152);
  CHECK(sizeof(bird::RouteCounts) == 32);
  // Held twice while a probe round replaces them.
  CHECK(sizeof(probes::PortResult) == 48);
  CHECK(sizeof(probes::IcmpResult) == 56);
  CHECK(sizeof(probes::MtuResult) == 72);
  CHECK(sizeof(probes::PeerClockResult) == 64);
#else
  SUCCEED("sizes are given for x86-64 with libstdc++ only");
#endif
}

TEST_CASE("check: the table for a person", "[unit]") {
  const std::string table = FormatCheckTable(Diagnosed(), 1000 + 7200);
  CHECK(table ==
        "BIRD bird (/var/run/calico/bird.ctl): 1.6.8, router ID 10.0.0.5, 2 BGP sessions\n"
        "BIRD bird6 (/var/run/calico/bird6.ctl): DOWN: connect: Connection refused\n"
        "\n"
        "DAEMON  PROTOCOL       PEER ADDRESS  PEER TYPE  STATE        SINCE  CAUSE\n"
        "bird    Mesh_10_0_0_1  10.0.0.1      node_mesh  Established  2h0m   healthy\n"
        "bird    Mesh_10_0_0_2  10.0.0.2      node_mesh  Active       2h0m   port_filtered\n"
        "bird6   Mesh_fd00__1   fd00::1       node_mesh  ?                   bird_down\n"
        "\n"
        "NEXT STEPS\n"
        "\n"
        "Mesh_10_0_0_2 (10.0.0.2): port_filtered\n"
        "  evidence:  port 179: no answer within 2s\n"
        "  next step: " +
            std::string(NextStep(Cause::kPortFiltered)) +
            "\n"
            "\n"
            "Mesh_fd00__1 (fd00::1): bird_down\n"
            "  evidence:  BIRD's control socket does not answer\n"
            "  next step: " +
            std::string(NextStep(Cause::kBirdDown)) + "\n");
}

TEST_CASE("check: JSON for scripts", "[unit]") {
  const std::string json = FormatCheckJson(Diagnosed(), 8200);
  CHECK(json.find("\"healthy\": false") != std::string::npos);
  CHECK(json.find("\"cause\": \"port_filtered\"") != std::string::npos);
  CHECK(json.find("\"cause\": \"bird_down\"") != std::string::npos);
  CHECK(json.find("\"error\": \"connect: Connection refused\"") != std::string::npos);
}

TEST_CASE("check --list-causes: every cause once, with its anchor and next step", "[unit]") {
  const auto list = nlohmann::json::parse(FormatCauseList(CheckOutput::kJson));
  REQUIRE(list.size() == AllCauses().size());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Cause cause = AllCauses()[i];
    CHECK(list[i]["cause"] == CauseName(cause));
    CHECK(list[i]["runbook_anchor"] == "cause-" + std::string(CauseName(cause)));
    CHECK(list[i]["next_step"] == NextStep(cause));
    CHECK_FALSE(std::string(NextStep(cause)).empty());
    seen.insert(list[i]["cause"].get<std::string>());
  }
  CHECK(seen.size() == list.size());
  const std::string table = FormatCauseList(CheckOutput::kTable);
  CHECK(table.find("port_closed\n  " + std::string(NextStep(Cause::kPortClosed)) + "\n") !=
        std::string::npos);
}

TEST_CASE("diagnosis: probe results found by address, whatever BIRD's spelling", "[unit]") {
  auto bird = std::make_shared<BirdSnapshot>();
  DaemonSnapshot d = UpDaemon("bird6", "10.0.0.5");
  // Not how the probe prints the address, and with a scope.
  const PeerSnapshot a = OpeningMeshSession("Mesh_fd00__1", "fd00:0:0::1%eth0");
  const PeerSnapshot b = OpeningMeshSession("Mesh_fd00__2", "fd00::2");
  const PeerSnapshot c = OpeningMeshSession("Mesh_fd00__3", "fd00::3");  // No probe result.
  const PeerSnapshot bad = OpeningMeshSession("Mesh_x", "not an address");
  d.peers = {a, b, c, bad};
  bird->daemons = {d};
  const auto ip = [](const char* text) { return *net::IpAddress::Parse(text); };
  auto tcp = std::make_shared<TcpSnapshot>();
  tcp->ports.push_back({ip("fd00::2"), PortState::kOpen, std::nullopt, "SYN-ACK"});
  tcp->ports.push_back({ip("fd00::1"), PortState::kOpen, std::nullopt, "SYN-ACK"});
  // The same peer twice: the result added last stands.
  tcp->ports.push_back({ip("fd00::1"), PortState::kClosed, std::nullopt, "RST"});
  auto icmp = std::make_shared<probes::IcmpSnapshot>();
  probes::IcmpResult echo;
  echo.peer = ip("fd00::2");
  echo.probed = true;
  echo.sent = 4;
  icmp->results.push_back(echo);
  auto mtu = std::make_shared<probes::MtuSnapshot>();
  probes::MtuResult m;
  m.peer = ip("fd00::1");
  m.interface_mtu = 1500;
  m.path_mtu = 1400;
  mtu->results.push_back(m);
  Snapshot s;
  s.bird = bird;
  s.SetProbe<TcpSnapshot>(tcp);
  s.SetProbe<probes::IcmpSnapshot>(icmp);
  s.SetProbe<probes::MtuSnapshot>(mtu);
  const auto diagnosed = DiagnoseSnapshot(s, DiagnosisOptions{}, 5000);
  REQUIRE(diagnosed.size() == 4);
  CHECK(diagnosed[0].diagnosis.cause == Cause::kPortClosed);
  CHECK(diagnosed[0].diagnosis.evidence.find("RST") != std::string::npos);
  // Port open, every ICMP echo lost: the peer's host is up, its BGP port answers.
  CHECK(diagnosed[1].diagnosis.evidence.find("port 179: open") != std::string::npos);
  CHECK(diagnosed[1].diagnosis.evidence.find("ICMP loss 1") != std::string::npos);
  // No result for the address, or no address: nothing measured.
  CHECK(diagnosed[2].diagnosis.evidence == "state start/Active, port 179: not probed");
  CHECK(diagnosed[3].diagnosis.evidence == "state start/Active, port 179: not probed");
}

}  // namespace
}  // namespace cbe
