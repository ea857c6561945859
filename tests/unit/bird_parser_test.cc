#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "probes/bird/parser.h"
#include "tests/unit/fixtures.h"

namespace cbe::bird {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::map<std::string, Protocol> ByName(const Protocols& ps) {
  std::map<std::string, Protocol> out;
  for (const auto& p : ps.protocols) {
    out[p.name.str()] = p;
  }
  return out;
}

Protocols MustParse(std::string_view fixture) {
  auto r = ParseShowProtocols(testing::ReadFixture(fixture));
  INFO(fixture);
  REQUIRE(r.ok());
  return *r;
}

TEST_CASE("parser: every recorded protocols reply parses with no unknown line", "[unit]") {
  for (const char* dir : {"bird1", "bird2", "calico-fork", "bird3"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(CBE_FIXTURES_DIR) + "/" + dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("show_protocols", 0) != 0 || name.find("__error") != std::string::npos) {
        continue;
      }
      CAPTURE(name);
      auto r = ParseShowProtocols(testing::ReadFixture(std::string(dir) + "/" + name));
      REQUIRE(r.ok());
      CHECK(r->unparsed.lines == 0);
      CHECK(r->unparsed.first.empty());
      CHECK_FALSE(r->protocols.empty());
      for (const auto& p : r->protocols) {
        CAPTURE(p.name);
        CHECK(p.since.has_value());
        if (p.is_bgp()) {
          CHECK_FALSE(p.bgp_state.empty());
        }
      }
    }
  }
}

TEST_CASE("parser: BIRD 1.6 show protocols all, every state", "[unit]") {
  const Protocols ps = MustParse("bird1/show_protocols_all__all_states.raw");
  auto by = ByName(ps);
  REQUIRE(ps.protocols.size() == 12);
  CHECK(by["static1"].proto == "Static");
  CHECK_FALSE(by["static1"].is_bgp());
  CHECK(by["kernel1"].routes.exported == 4u);

  const Protocol& b = by["Mesh_10_99_0_1"];
  CHECK(b.is_bgp());
  CHECK(b.table == "master");
  CHECK(b.state == "up");
  CHECK(b.since_text == "06:47:46");
  CHECK(b.since == BirdTime{BirdTime::Kind::kTimeOfDay, hours(6) + minutes(47) + seconds(46)});
  CHECK(b.bgp_state == "Established");
  CHECK(b.established());
  CHECK(b.neighbor_address == "10.99.0.1");
  CHECK(b.neighbor_as == 64512u);
  CHECK_FALSE(b.local_as.has_value());  // BIRD 1.6 does not print it.
  CHECK(b.neighbor_id == "10.99.0.1");
  CHECK(b.session == "internal multihop AS4 add-path-rx add-path-tx");
  CHECK(SessionKind(b) == "ibgp");
  CHECK(b.hold_time == 240.0);
  CHECK(b.keepalive_time == 80.0);
  CHECK(b.last_error.empty());
  CHECK(b.routes.imported == 1u);
  CHECK(b.routes.exported == 2u);
  CHECK(b.routes.preferred == 1u);
  CHECK_FALSE(b.routes.filtered.has_value());

  const Protocol& c = by["Mesh_10_99_0_2"];
  CHECK(c.state == "start");
  CHECK(c.bgp_state == "Active");
  CHECK(c.last_error == "Socket: Connection refused");
  CHECK_FALSE(c.hold_time.has_value());
  CHECK(c.neighbor_id.empty());
  CHECK(SessionKind(c).empty());  // No Session line and no local AS.

  CHECK(by["Mesh_10_99_0_3"].bgp_state == "Connect");
  CHECK(by["Mesh_10_99_0_3"].last_error.empty());

  const Protocol& e = by["Global_10_99_0_4"];
  CHECK(e.bgp_state == "Idle");
  CHECK(e.neighbor_as == 65000u);
  CHECK(e.last_error == "BGP Error: Bad peer AS");
  CHECK(PeerTypeFromName(e.name) == PeerType::kGlobal);

  CHECK(by["Mesh_10_99_0_6"].last_error == "BGP Error: Bad BGP identifier");
  CHECK(by["Mesh_10_99_0_8"].bgp_state == "Passive");

  const Protocol& i = by["Node_10_99_0_9"];
  CHECK(i.neighbor_as == 65009u);
  CHECK(SessionKind(i) == "ebgp");
  CHECK(PeerTypeFromName(i.name) == PeerType::kNodeSpecific);
}

TEST_CASE("parser: BIRD 2.0 show protocols all, every state", "[unit]") {
  const Protocols ps = MustParse("bird2/show_protocols_all__all_states.raw");
  auto by = ByName(ps);
  REQUIRE(ps.protocols.size() == 17);
  CHECK(by["device1"].table == "---");

  const Protocol& b = by["Mesh_10_99_0_1"];
  CHECK(b.since == BirdTime{BirdTime::Kind::kTimeOfDay,
                            hours(6) + minutes(50) + seconds(37) + milliseconds(619)});
  CHECK(b.local_as == 64512u);
  CHECK(b.neighbor_id == "10.99.0.1");
  CHECK(b.hold_time == 240.0);
  CHECK(b.keepalive_time == 80.0);
  CHECK(b.session == "internal multihop AS4");
  CHECK(b.routes.imported == 1u);
  CHECK(b.routes.exported == 2u);

  // Two channels: routes are summed.
  const Protocol& i = by["Node_10_99_0_9"];
  CHECK(i.routes.imported == 2u);
  CHECK(i.routes.exported == 5u);
  CHECK(i.routes.preferred == 2u);
  CHECK(SessionKind(i) == "ebgp");

  // Down channels print no Routes line: no counts rather than zeros.
  const Protocol& c = by["Mesh_10_99_0_2"];
  CHECK_FALSE(c.routes.imported.has_value());
  CHECK(c.last_error == "Socket: Connection refused");
  CHECK(SessionKind(c) == "ibgp");  // From the AS numbers BIRD 2 prints.

  const Protocol& e = by["Global_10_99_0_4"];
  CHECK(e.last_error == "BGP Error: Bad peer AS");
  CHECK(SessionKind(e) == "ebgp");  // As configured: 65000 vs 64512.

  const Protocol& v6 = by["Mesh_fd00_99__1"];
  CHECK(v6.neighbor_address == "fd00:99::1");
  CHECK(v6.neighbor_id == "10.99.0.1");
  CHECK(v6.established());
}

TEST_CASE("parser: a disabled protocol is Down", "[unit]") {
  for (const char* f : {"bird1/show_protocols_all_Mesh_10_99_0_7__protocol_disabled.raw",
                        "bird2/show_protocols_all_Mesh_10_99_0_7__protocol_disabled.raw"}) {
    CAPTURE(f);
    const Protocols ps = MustParse(f);
    REQUIRE(ps.protocols.size() == 1);
    const Protocol& p = ps.protocols[0];
    CHECK(p.state == "down");
    CHECK(p.bgp_state == "Down");
    CHECK(p.last_error.empty());
    CHECK(p.neighbor_address == "10.99.0.7");
  }
  // The summary table has no details: the row alone says Down.
  auto by = ByName(MustParse("bird1/show_protocols__protocol_disabled.raw"));
  CHECK(by["Mesh_10_99_0_7"].bgp_state == "Down");
}

TEST_CASE("parser: a down protocol's info is only its last error", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   down   06:47:46    Automatic shutdown: Route limit "
      "exceeded\n0000 \n");
  REQUIRE(r.ok());
  CHECK(r->protocols[0].bgp_state == "Down");
  CHECK(r->protocols[0].last_error == "Automatic shutdown: Route limit exceeded");
}

TEST_CASE("parser: show protocols (summary) rows", "[unit]") {
  auto by1 = ByName(MustParse("bird1/show_protocols__all_states.raw"));
  CHECK(by1.size() == 12);
  CHECK(by1["Mesh_10_99_0_2"].bgp_state == "Active");
  CHECK(by1["Mesh_10_99_0_2"].last_error == "Socket: Connection refused");
  CHECK(by1["Global_10_99_0_4"].last_error == "BGP Error: Bad peer AS");
  auto by2 = ByName(MustParse("bird2/show_protocols__all_states.raw"));
  CHECK(by2.size() == 17);
  CHECK(by2["Mesh_fd00_99__8"].bgp_state == "Passive");
}

TEST_CASE("parser: error replies are errors with BIRD's text", "[unit]") {
  auto r1 = ParseShowProtocols(
      testing::ReadFixture("bird1/show_protocols_all_NoSuchProto__error_no_such_protocol.raw"));
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.error().message == "BIRD answered 9002 NoSuchProto is not a protocol");
  auto r2 = ParseShowProtocols(
      testing::ReadFixture("bird2/show_protocols_Zzz__error_pattern_matches_nothing.raw"));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == "BIRD answered 8003 No protocols match");
  auto r3 = ParseShowStatus(testing::ReadFixture("bird1/show_protocolz__error_syntax.raw"));
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().message == "BIRD answered 9001 syntax error");
}

TEST_CASE("parser: truncated and malformed replies", "[unit]") {
  const std::string full = testing::ReadFixture("bird1/show_protocols_all__all_states.raw");
  auto cut = ParseShowProtocols(std::string_view(full).substr(0, full.size() / 2));
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().message == "reply ends before its last line");
  auto bad = ParseShowProtocols("2002-name proto\nnonsense\n0000 \n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "malformed reply: line is neither coded nor a continuation: \"nonsense\"");
  auto empty = ParseShowProtocols("");
  CHECK_FALSE(empty.ok());
}

TEST_CASE("parser: unknown lines are counted, not dropped", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
      "1006-  BGP state:          Established\n"
      "     Neighbor address: 10.99.0.1\n"
      "     Frobnication:     on\n"
      "     Hold timer:       soon\n"
      " \n"
      "1099-What is this\n"
      "0000 \n");
  REQUIRE(r.ok());
  CHECK(r->unparsed.lines == 3);
  CHECK(r->unparsed.first == "    Frobnication:     on");
  CHECK(r->protocols[0].neighbor_address == "10.99.0.1");
  CHECK_FALSE(r->protocols[0].hold_time.has_value());
}

// The timers' figures: plain digits are read without from_chars, anything else as from_chars
// reads it; a text from_chars does not read whole is an unparsed line.
TEST_CASE("parser: hold timer figures, plain and otherwise", "[unit]") {
  const struct {
    std::string_view value;
    std::optional<double> limit;
  } cases[] = {
      {"140/240", 240.0},
      {"143.007/240", 240.0},
      {".5/90", 90.0},
      {"7./90", 90.0},
      {"0/0", 0.0},
      {"140/240.5", 240.5},
      {"1e2/240", 240.0},
      {"140/2.4e2", 240.0},
      {"140/-3", -3.0},
      {"140/12345678901234567890", 12345678901234567890.0},
      {"140/999999999999999", 999999999999999.0},
      {"./240", std::nullopt},
      {"/240", std::nullopt},
      {"140/", std::nullopt},
      {"140/abc", std::nullopt},
      {"1.2.3/240", std::nullopt},
      {"140/24 0", std::nullopt},
      {"140-240", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.value);
    auto r = ParseShowProtocols(
        "2002-name     proto    table    state  since       info\n"
        "1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
        "1006-  BGP state:          Established\n"
        "     Hold timer:       " +
        std::string(c.value) + "\n \n0000 \n");
    REQUIRE(r.ok());
    REQUIRE(r->protocols.size() == 1);
    CHECK(r->protocols[0].hold_time == c.limit);
    CHECK(r->unparsed.lines == (c.limit ? 0u : 1u));
  }
}

// Lines inside a capability tree are skipped by their indent alone; the first line at the
// tree's own indent (or less) ends it and is read. Tabs and trailing blanks take the long way.
TEST_CASE("parser: a capability tree is skipped, whatever its lines look like", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
      "1006-  BGP state:          Established\n"
      "    Local capabilities\n"
      "      Multiprotocol\n"
      "        AF announced: ipv4\n"
      "      Graceful restart   \n"
      "     \tADD-PATH\n"
      " \t\t  RX: ipv4\n"
      "                              Deep: yes\n"
      "      Restart time: 120\r\n"
      "    Neighbor capabilities\n"
      "      Route refresh\n"
      "    Neighbor address: 10.99.0.1\n"
      "    Local capabilities\n"
      "      4-octet AS numbers\n"
      "      \n"
      "      Neighbor AS:      64512\n"
      "    Hold timer:       140/240\n"
      " \n0000 \n");
  REQUIRE(r.ok());
  REQUIRE(r->protocols.size() == 1);
  const Protocol& p = r->protocols[0];
  CHECK(p.neighbor_address == "10.99.0.1");  // At the tree's indent: ends the tree, read.
  // A blank line ends a tree: the deeper line after it is read again.
  CHECK(p.neighbor_as == 64512u);
  CHECK(p.hold_time == 240.0);
  CHECK(r->unparsed.lines == 0);
}

TEST_CASE("parser: a since in an unknown time format keeps the row and counts it", "[unit]") {
  // BIRD 1.6 `timeformat protocol old short` prints "Jan05".
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     Jan05       Established   \n0000 \n");
  REQUIRE(r.ok());
  REQUIRE(r->protocols.size() == 1);
  CHECK_FALSE(r->protocols[0].since.has_value());
  CHECK(r->protocols[0].since_text == "Jan05");
  CHECK(r->protocols[0].established());
  CHECK(r->unparsed.lines == 1);
}

TEST_CASE("parser: timeformat protocol iso long gives a two-token since", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002-Mesh_10_99_0_1 BGP        ---        up     2026-11-24 06:50:37.619  Established   \n"
      " Mesh_10_99_0_2 BGP        ---        start  2026-11-24 06:50:36  Active        Socket: "
      "Connection refused\n0000 \n");
  REQUIRE(r.ok());
  REQUIRE(r->protocols.size() == 2);
  CHECK(r->protocols[0].since_text == "2026-11-24 06:50:37.619");
  CHECK(r->protocols[0].since->kind == BirdTime::Kind::kDateTime);
  CHECK(r->protocols[0].bgp_state == "Established");
  CHECK(r->protocols[1].since_text == "2026-11-24 06:50:36");
  CHECK(r->protocols[1].last_error == "Socket: Connection refused");
}

TEST_CASE("parser: a Unix-time since (timeformat \"%s.%3f\" on the connection)", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002-Mesh_10_99_0_1 BGP        ---        up     1796539722.831  Established   \n"
      " Mesh_10_99_0_2 BGP        ---        start  1796539700.000  Active        Socket: "
      "Connection refused\n0000 \n");
  REQUIRE(r.ok());
  REQUIRE(r->protocols.size() == 2);
  CHECK(r->protocols[0].since->kind == BirdTime::Kind::kUnix);
  CHECK(r->protocols[0].since->value == std::chrono::milliseconds(1796539722831));
  CHECK(r->protocols[0].bgp_state == "Established");
  CHECK(r->protocols[1].last_error == "Socket: Connection refused");
  CHECK(r->unparsed.lines == 0);
}

TEST_CASE("parser: BIRD 3's TX pending and pending prefixes", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002-Mesh_10_99_0_1 BGP        ---        up     1796539722.831  Established   \n"
      "1006-  Created:            1796539700.000\n"
      "   BGP state:          Established\n"
      "    Neighbor address: 10.99.0.1\n"
      "    TX pending:       4096 bytes\n"
      "    Send hold timer:  9.512/480\n"
      "  Channel ipv4\n"
      "    Import state:   UP\n"
      "    Export state:   READY\n"
      "    Pending 2 attribute sets with total 5 prefixes to send\n"
      "  Channel ipv6\n"
      "    Pending 1 attribute sets with total 1 prefixes to send\n"
      " \n0000 \n");
  REQUIRE(r.ok());
  CHECK(r->unparsed.lines == 0);
  REQUIRE(r->protocols.size() == 1);
  CHECK(r->protocols[0].tx_pending_bytes == 4096u);
  CHECK(r->protocols[0].pending_prefixes == 6u);
  auto bad = ParseShowProtocols(
      "2002-Name Proto Table State Since Info\n1002-x BGP --- up 1796539722.831 Established\n"
      "1006-    TX pending:       many bytes\n    Pending some attribute sets\n \n0000 \n");
  REQUIRE(bad.ok());
  CHECK(bad->unparsed.lines == 2);
  CHECK_FALSE(bad->protocols[0].tx_pending_bytes.has_value());
}

TEST_CASE("parser: after 20 hours the since is a bare date", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     2026-11-24  Established   \n0000 \n");
  REQUIRE(r.ok());
  CHECK(r->protocols[0].since->kind == BirdTime::Kind::kDate);
  CHECK(r->protocols[0].bgp_state == "Established");
}

TEST_CASE("parser: import keep filtered adds a filtered count", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
      "1006-  Routes:         3 imported, 2 filtered, 5 exported, 1 preferred\n"
      " \n0000 \n");
  REQUIRE(r.ok());
  CHECK(r->protocols[0].routes.imported == 3u);
  CHECK(r->protocols[0].routes.filtered == 2u);
  CHECK(r->protocols[0].routes.exported == 5u);
  CHECK(r->protocols[0].routes.preferred == 1u);
  CHECK(r->unparsed.lines == 0);
}

TEST_CASE("parser: a route count of 2^64-1 is an unparsed line, not an absent count", "[unit]") {
  // RouteCounts holds counts in 8 bytes, 2^64-1 meaning "none" (base/compact_optional.h).
  auto routes = [](std::string_view line) {
    return ParseShowProtocols(
        "2002-name     proto    table    state  since       info\n"
        "1002-Mesh_10_99_0_1 BGP      master   up     06:47:46    Established   \n"
        "1006-  Routes:         " +
        std::string(line) + "\n \n0000 \n");
  };
  auto max = routes("18446744073709551615 imported, 2 exported");
  REQUIRE(max.ok());
  CHECK_FALSE(max->protocols[0].routes.imported);
  CHECK(max->unparsed.lines == 1);
  auto below = routes("18446744073709551614 imported");
  REQUIRE(below.ok());
  CHECK(below->protocols[0].routes.imported == 18446744073709551614u);
  CHECK(below->unparsed.lines == 0);
}

TEST_CASE("parser: a heading without a table column", "[unit]") {
  auto r = ParseShowProtocols(
      "2002-Name       Proto      State  Since         Info\n"
      "1002-Mesh_10_99_0_1 BGP        up     06:50:37.619  Established   \n0000 \n");
  REQUIRE(r.ok());
  CHECK(r->protocols[0].table.empty());
  CHECK(r->protocols[0].state == "up");
  CHECK(r->protocols[0].established());
}

TEST_CASE("parser: blanks of any length and mix before a detail key and its value", "[unit]") {
  // Runs of spaces are skipped eight at a time: every length around those eight, and a tab
  // at every place in them.
  for (std::size_t blanks = 0; blanks <= 19; ++blanks) {
    for (std::size_t tab_at = 0; tab_at <= blanks; ++tab_at) {
      std::string pad(blanks, ' ');
      if (tab_at < blanks) {
        pad[tab_at] = '\t';
      }
      CAPTURE(blanks, tab_at);
      const std::string reply =
          "2002-Name       Proto      Table      State  Since         Info\n"
          "1002-Mesh_10_0_0_2 BGP        ---        up     06:50:39.171  Established\n"
          "1006-" +
          pad + "BGP state:" + pad +
          "Established\n"
          "1006-" +
          pad + "Neighbor address:" + pad + "10.0.0.2" + pad +
          "\n"
          "1006-  Neighbor AS:" +
          pad + "64512\n0000 \n";
      const auto parsed = ParseShowProtocols(reply);
      REQUIRE(parsed.ok());
      CHECK(parsed->unparsed.lines == 0);
      REQUIRE(parsed->protocols.size() == 1);
      const Protocol& p = parsed->protocols[0];
      CHECK(p.bgp_state == "Established");
      CHECK(p.neighbor_address == "10.0.0.2");
      CHECK(p.neighbor_as == 64512u);
    }
  }
}

TEST_CASE("parser: show status of BIRD 1.6 and 2.0", "[unit]") {
  auto s1 = ParseShowStatus(testing::ReadFixture("bird1/show_status__all_states.raw"));
  REQUIRE(s1.ok());
  CHECK(s1->version == "1.6.8");
  CHECK(s1->router_id == "10.99.0.5");
  CHECK(s1->daemon_up);
  CHECK(s1->daemon_message == "Daemon is up and running");
  CHECK(s1->server_time == ParseBirdTime("2026-11-26 06:48:42"));
  CHECK(s1->last_reboot == ParseBirdTime("2026-11-26 06:47:44"));
  CHECK(s1->last_reconfiguration == ParseBirdTime("2026-11-26 06:47:44"));
  CHECK_FALSE(s1->graceful_restart_recovery);
  CHECK(s1->unparsed.lines == 0);

  auto s2 = ParseShowStatus(testing::ReadFixture("bird2/show_status__all_states.raw"));
  REQUIRE(s2.ok());
  CHECK(s2->version == "2.0.12");
  CHECK(s2->hostname == "vm");
  CHECK(s2->server_time == ParseBirdTime("2026-11-26 06:51:24.770"));
  CHECK(s2->unparsed.lines == 0);
}

TEST_CASE("parser: show status of Calico's fork during graceful restart recovery", "[unit]") {
  // The layout of nest/cmds.c and graceful_restart_show_status() in projectcalico/bird.
  auto s = ParseShowStatus(
      "1000-BIRD v0.3.3+birdv1.6.8\n"
      "1011-Router ID is 10.0.0.5\n"
      " Current server time is 2026-11-26 06:48:42\n"
      " Last reboot on 2026-11-26 06:47:44\n"
      " Last reconfiguration on 2026-11-26 06:47:44\n"
      "0024-Graceful restart recovery in progress\n"
      "   Waiting for 2 protocols to recover\n"
      "   Wait timer is 215/240\n"
      "0013 Reconfiguration in progress\n");
  REQUIRE(s.ok());
  CHECK(s->version == "v0.3.3+birdv1.6.8");
  CHECK(s->graceful_restart_recovery);
  CHECK(s->daemon_message == "Reconfiguration in progress");
  CHECK(s->unparsed.lines == 0);
}

TEST_CASE("parser: Calico peer types from protocol names", "[unit]") {
  CHECK(PeerTypeName(PeerTypeFromName("Mesh_10_0_0_1")) == "node_mesh");
  CHECK(PeerTypeName(PeerTypeFromName("Node_10_0_0_1")) == "node_specific");
  CHECK(PeerTypeName(PeerTypeFromName("Global_10_0_0_1")) == "global");
  CHECK(PeerTypeName(PeerTypeFromName("bgp1")) == "other");
  CHECK(PeerTypeName(PeerTypeFromName("mesh_lowercase")) == "other");
}

TEST_CASE("parser: fed line by line from any split, the same protocols", "[unit]") {
  // bird::Client::QueryLines + ShowProtocolsParser (what a round does) against
  // ParseShowProtocols on the whole reply, for every recorded `show protocols [all]`.
  for (const char* name :
       {"bird1/show_protocols_all__all_states.raw", "bird1/show_protocols__all_states.raw",
        "bird2/show_protocols_all__all_states.raw", "bird2/show_protocols__all_states.raw",
        "bird2/show_protocols_all_Node_10_99_0_9__established_ebgp_dual_channel_ipv4_ipv6.raw",
        "bird2/show_protocols_all_NoSuchProto__error_no_such_protocol.raw"}) {
    const std::string reply = testing::ReadFixture(name);
    const auto whole = ParseShowProtocols(reply);
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{64}, reply.size()}) {
      CAPTURE(name, piece);
      ShowProtocolsParser parser;
      ReplyStream stream;
      ReplyStream::Status st = ReplyStream::Status::kNeedMore;
      for (std::size_t at = 0; at < reply.size(); at += piece) {
        st = stream.Feed(std::string_view(reply).substr(at, piece),
                         [&](const ReplyLine& line) { parser.Add(line); });
      }
      REQUIRE(st == ReplyStream::Status::kComplete);
      CHECK(stream.bytes() == reply.size());
      auto fed = parser.Finish();
      REQUIRE(fed.ok() == whole.ok());
      if (!whole.ok()) {
        CHECK(fed.error().message == whole.error().message);
        continue;
      }
      REQUIRE(fed->protocols.size() == whole->protocols.size());
      CHECK(fed->unparsed.lines == whole->unparsed.lines);
      for (std::size_t i = 0; i < fed->protocols.size(); ++i) {
        const Protocol& a = fed->protocols[i];
        const Protocol& b = whole->protocols[i];
        CHECK(a.name == b.name);
        CHECK(a.bgp_state == b.bgp_state);
        CHECK(a.neighbor_address == b.neighbor_address);
        CHECK(a.neighbor_as == b.neighbor_as);
        CHECK(a.last_error == b.last_error);
        CHECK(a.hold_time == b.hold_time);
        CHECK(a.routes.imported == b.routes.imported);
        CHECK(a.since_text == b.since_text);
      }
    }
  }
}

TEST_CASE("parser: every known detail key is understood, any other is counted", "[unit]") {
  std::string reply =
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002-Mesh_10_0_0_2 BGP        ---        up     06:50:39.171  Established\n";
  for (std::string_view key : KnownDetailKeys()) {
    reply += "1006-  " + std::string(key) + ": 1\n";
  }
  const std::size_t known = KnownDetailKeys().size();
  REQUIRE(known >= 40);  // BIRD 1.6, 2 and 3 between them print about 50.
  const auto parsed = ParseShowProtocols(reply + "0000 \n");
  REQUIRE(parsed.ok());
  CHECK(parsed->unparsed.lines == 0);
  // Keys no BIRD prints, and near misses of known ones, are unparsed lines.
  for (std::string_view other : {"Neighbor AS number", "Preferences", "BGP State", "Xyz"}) {
    CAPTURE(other);
    const auto p = ParseShowProtocols(reply + "1006-  " + std::string(other) + ": 1\n0000 \n");
    REQUIRE(p.ok());
    CHECK(p->unparsed.lines == 1);
  }
}

TEST_CASE("parser: with a sink, each protocol as soon as its last line was read", "[unit]") {
  const std::string reply = testing::ReadFixture("bird2/show_protocols_all__all_states.raw");
  const auto whole = ParseShowProtocols(reply);
  REQUIRE(whole.ok());
  REQUIRE(whole->protocols.size() > 2);
  std::vector<Protocol> handed;
  ShowProtocolsParser parser([&](Protocol&& p) { handed.push_back(std::move(p)); });
  std::size_t rows = 0;
  ReplyStream stream;
  const auto status = stream.Feed(reply, [&](const ReplyLine& line) {
    parser.Add(line);
    if (line.code == 1002 && line.kind != LineKind::kContinuation) {
      // A new row completes the protocol before it, and only that one.
      ++rows;
      CHECK(handed.size() == rows - 1);
    }
  });
  REQUIRE(status == ReplyStream::Status::kComplete);
  CHECK(handed.size() == rows - 1);  // The last one waits for the end of the reply.
  auto finished = parser.Finish();
  REQUIRE(finished.ok());
  CHECK(finished->protocols.empty());
  CHECK(finished->unparsed.lines == whole->unparsed.lines);
  REQUIRE(handed.size() == whole->protocols.size());
  for (std::size_t i = 0; i < handed.size(); ++i) {
    CAPTURE(i);
    CHECK(handed[i].name == whole->protocols[i].name);
    CHECK(handed[i].bgp_state == whole->protocols[i].bgp_state);
    CHECK(handed[i].neighbor_address == whole->protocols[i].neighbor_address);
    CHECK(handed[i].last_error == whole->protocols[i].last_error);
    CHECK(handed[i].routes.exported == whole->protocols[i].routes.exported);
    CHECK(handed[i].since_text == whole->protocols[i].since_text);
  }
}

TEST_CASE("parser: a row keeps nothing of the row before it", "[unit]") {
  // The parser reuses one protocol's strings from row to row; a sink that copies (as the
  // snapshot builder does) leaves them in place. A bare row after a full one must be bare.
  const std::string full =
      "1002-Mesh_192_168_100_101 BGP        master4    start  06:50:39.171  Active        "
      "Socket: Connection refused by a peer with a long name\n"
      "1006-  BGP state:          Established\n"
      "1006-    Neighbor address: 192.168.100.101\n"
      "1006-    Neighbor AS:      64512\n"
      "1006-    Local AS:         64512\n"
      "1006-    Neighbor ID:      192.168.100.101\n"
      "1006-    Session:          internal multihop AS4 add-path-rx add-path-tx\n"
      "1006-    Source address:   192.168.100.100\n"
      "1006-    Hold timer:         140/240\n"
      "1006-    Keepalive timer:    20/80\n"
      "1006-    Last error:       Socket: Connection refused by a peer with a long name\n"
      "1006-    TX pending:       12 bytes\n"
      "1006-    Routes:         1 imported, 2 exported, 1 preferred\n";
  const std::string bare = "1002-device1   Device     ---        up     06:50:37.619  \n";
  const std::string reply = "2002-Name       Proto      Table      State  Since         Info\n" +
                            full + bare + full + bare + "0000 \n";
  std::vector<Protocol> copies;
  ShowProtocolsParser parser([&](Protocol&& p) { copies.push_back(p); });
  REQUIRE(ForEachReplyLine(reply, [&](const ReplyLine& line) { parser.Add(line); }).ok());
  const auto finished = parser.Finish();
  REQUIRE(finished.ok());
  CHECK(finished->unparsed.lines == 0);
  REQUIRE(copies.size() == 4);
  for (std::size_t i : {0, 2}) {
    CAPTURE(i);
    const Protocol& p = copies[i];
    CHECK(p.name == "Mesh_192_168_100_101");
    CHECK(p.session == "internal multihop AS4 add-path-rx add-path-tx");
    CHECK(p.last_error == "Socket: Connection refused by a peer with a long name");
    CHECK(p.neighbor_as == 64512u);
    CHECK(p.tx_pending_bytes == 12u);
    CHECK(p.routes.imported == 1u);
  }
  for (std::size_t i : {1, 3}) {
    CAPTURE(i);
    const Protocol& p = copies[i];
    CHECK(p.name == "device1");
    CHECK(p.proto == "Device");
    CHECK(p.info.empty());
    CHECK(p.bgp_state.empty());
    CHECK(p.neighbor_address.empty());
    CHECK(p.neighbor_id.empty());
    CHECK(p.source_address.empty());
    CHECK(p.session.empty());
    CHECK(p.last_error.empty());
    CHECK_FALSE(p.neighbor_as.has_value());
    CHECK_FALSE(p.local_as.has_value());
    CHECK_FALSE(p.hold_time.has_value());
    CHECK_FALSE(p.keepalive_time.has_value());
    CHECK_FALSE(p.tx_pending_bytes.has_value());
    CHECK_FALSE(p.routes.imported.has_value());
    CHECK_FALSE(p.routes.exported.has_value());
  }
}

TEST_CASE("parser: with a sink, an error reply is an error at Finish", "[unit]") {
  const std::string reply =
      testing::ReadFixture("bird2/show_protocols_all_NoSuchProto__error_no_such_protocol.raw");
  std::size_t handed = 0;
  ShowProtocolsParser parser([&](Protocol&&) { ++handed; });
  REQUIRE(ForEachReplyLine(reply, [&](const ReplyLine& line) { parser.Add(line); }).ok());
  const auto finished = parser.Finish();
  REQUIRE_FALSE(finished.ok());
  CHECK(finished.error().message == ParseShowProtocols(reply).error().message);
  CHECK(handed == 0);
}

}  // namespace
}  // namespace cbe::bird
