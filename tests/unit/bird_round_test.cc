// The BIRD round on recorded replies (a scripted control socket, no BIRD): what it publishes
// and where it looks up this node's own addresses.

#include "exporter/core/bird_round.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "exporter/core/diagnosis.h"
#include "probes/bird/parser.h"
#include "probes/bird/state_tracker.h"
#include "tests/unit/fake_stream.h"
#include "tests/unit/fixtures.h"

namespace cbe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One BIRD 1.6 daemon answering `show status` and `show protocols all` with the recordings of
// the lab's node a (router ID 10.99.0.5; Established sessions show source address 10.99.0.5).
struct Harness {
  testing::FakeBird bird;
  testing::FakeClock clock;
  testing::FakeConnector connector{&bird};
  std::map<std::string, int> lookups;                     // Address -> times looked up.
  int lookup_calls = 0;                                   // Calls of the lookup.
  std::map<std::string, net::LocalInterface> interfaces;  // What the lookups find.
  std::map<std::string, std::string> errors;              // Addresses whose lookup fails.
  BirdRound round;

  explicit Harness(std::map<std::string, net::LocalInterface> holding)
      : interfaces(std::move(holding)),
        round(Config(), &connector, &clock, [this](std::span<const net::IpAddress> ips) {
          ++lookup_calls;
          std::vector<Result<std::optional<net::LocalInterface>>> out;
          for (const net::IpAddress& ip : ips) {
            ++lookups[ip.ToString()];
            if (const auto failed = errors.find(ip.ToString()); failed != errors.end()) {
              out.emplace_back(Error{failed->second});
              continue;
            }
            const auto it = interfaces.find(ip.ToString());
            out.emplace_back(it == interfaces.end()
                                 ? std::optional<net::LocalInterface>()
                                 : std::optional<net::LocalInterface>(it->second));
          }
          return out;
        }) {
    bird.clock = &clock;
  }
  static BirdConfig Config() {
    BirdConfig c;
    c.sockets = {"/var/run/calico/bird.ctl"};
    c.timeout = milliseconds(500);
    return c;
  }
  // `protocols`: the reply to `show protocols all` (the recording by default).
  std::shared_ptr<const BirdSnapshot> Run(std::string protocols = "") {
    // In the order the round asks: the protocols, then BIRD's clock.
    bird.replies = {protocols.empty()
                        ? testing::ReadFixture("bird1/show_protocols_all__all_states.raw")
                        : std::move(protocols),
                    testing::ReadFixture("bird1/show_status__all_states.raw")};
    return round.Run();
  }
};

TEST_CASE("bird round: the router ID's interface, looked up once a minute", "[unit]") {
  Harness h({{"10.99.0.5", net::LocalInterface{"docker0", "bridge", false}}});
  auto snap = h.Run();
  REQUIRE(snap->daemons.size() == 1);
  const DaemonSnapshot& d = snap->daemons[0];
  REQUIRE(d.up);
  CHECK(d.router_id == "10.99.0.5");
  REQUIRE_FALSE(d.local_addresses.empty());
  CHECK(d.local_addresses[0].address == "10.99.0.5");
  CHECK(d.local_addresses[0].found);
  CHECK(d.local_addresses[0].interface == "docker0");
  CHECK(d.local_addresses[0].kind == "bridge");
  // The source address of the Established sessions is the router ID: one lookup for both.
  bool source_seen = false;
  for (const PeerSnapshot& p : d.peers) {
    source_seen = source_seen || p.source_address == "10.99.0.5";
  }
  CHECK(source_seen);
  CHECK(h.lookups["10.99.0.5"] == 1);
  // The next rounds use the cache; a minute later it is looked up again.
  h.clock.Advance(seconds(5));
  h.Run();
  CHECK(h.lookups["10.99.0.5"] == 1);
  h.clock.Advance(seconds(60));
  snap = h.Run();
  CHECK(h.lookups["10.99.0.5"] == 2);
  CHECK(snap->daemons[0].local_addresses[0].interface == "docker0");
}

TEST_CASE("bird round: this node's address problems, found again only when the addresses change",
          "[unit]") {
  Harness h({{"10.99.0.5", net::LocalInterface{"docker0", "bridge", false}},
             {"10.99.0.6", net::LocalInterface{"eth0", "", false}}});
  // Each round's problems are those the diagnosis finds from the snapshot alone.
  const auto check_round = [&](const std::shared_ptr<const BirdSnapshot>& snap) {
    REQUIRE(snap->daemons.size() == 1);
    DaemonSnapshot d = snap->daemons[0];
    REQUIRE(d.address_problems.has_value());
    const NodeAddressProblems found = FindNodeAddressProblems(d);
    CHECK(d.address_problems->router_id == found.router_id);
    CHECK(d.address_problems->source[0] == found.source[0]);
    CHECK(d.address_problems->source[1] == found.source[1]);
    return *d.address_problems;
  };
  // The router ID, also every Established session's source address, is on docker0.
  const NodeAddressProblems first = check_round(h.Run());
  CHECK_THAT(first.router_id, Catch::Contains("docker0"));
  CHECK(first.source[0] == first.router_id);
  CHECK(check_round(h.Run()).router_id == first.router_id);  // The same addresses.

  // One session's source address moves to another address: looked up, and in the answer.
  std::string moved = testing::ReadFixture("bird1/show_protocols_all__all_states.raw");
  const std::string from = "Source address:   10.99.0.5";
  const std::size_t at = moved.find(from);
  REQUIRE(at != std::string::npos);
  moved.replace(at, from.size(), "Source address:   10.99.0.6");
  auto snap = h.Run(moved);
  check_round(snap);
  CHECK(h.lookups["10.99.0.6"] == 1);
  const auto& local = snap->daemons[0].local_addresses;
  REQUIRE(local.size() == 2);
  CHECK(local[1].address == "10.99.0.6");
  CHECK(local[1].interface == "eth0");
  check_round(h.Run(moved));
  CHECK(h.lookups["10.99.0.6"] == 1);

  // The router ID's address moves to eth0: found at the next lookup, a minute later.
  h.interfaces["10.99.0.5"] = net::LocalInterface{"eth0", "", false};
  CHECK_FALSE(check_round(h.Run(moved)).router_id.empty());
  h.clock.Advance(seconds(61));
  const NodeAddressProblems after = check_round(h.Run(moved));
  CHECK(after.router_id.empty());
  CHECK(after.source[0].empty());
  CHECK(h.lookups["10.99.0.5"] == 2);
}

// A lab may give every session its own source address (the bench gives 500): the round asks
// for all the addresses it has not seen in one lookup, one walk of the interfaces.
TEST_CASE("bird round: a node's new addresses, looked up in one call", "[unit]") {
  Harness h({{"10.99.0.5", net::LocalInterface{"docker0", "bridge", false}},
             {"10.99.1.2", net::LocalInterface{"eth0", "", false}}});
  h.errors["10.99.1.3"] = "interface eth9: No such device";
  std::string own = testing::ReadFixture("bird1/show_protocols_all__all_states.raw");
  const std::string from = "Source address:   10.99.0.5";
  int next = 1;
  for (std::size_t at = own.find(from); at != std::string::npos; at = own.find(from, at + 1)) {
    own.replace(at, from.size(), "Source address:   10.99.1." + std::to_string(next++));
  }
  REQUIRE(next == 4);  // Three Established sessions.
  auto snap = h.Run(own);
  CHECK(h.lookup_calls == 1);
  REQUIRE(snap->daemons.size() == 1);
  const auto& local = snap->daemons[0].local_addresses;
  REQUIRE(local.size() == 4);  // The router ID and three source addresses, sorted.
  CHECK(local[0].address == "10.99.0.5");
  CHECK(local[0].interface == "docker0");
  CHECK(local[1].address == "10.99.1.1");
  CHECK_FALSE(local[1].found);  // No interface holds it.
  CHECK(local[2].address == "10.99.1.2");
  CHECK(local[2].found);
  CHECK(local[2].interface == "eth0");
  CHECK(local[3].address == "10.99.1.3");
  CHECK_FALSE(local[3].found);  // Its lookup failed: not found, the others are.
  for (const auto& [address, times] : h.lookups) {
    CHECK(times == 1);
  }

  h.Run(own);  // The same addresses: nothing looked up.
  CHECK(h.lookup_calls == 1);
  // A new one: only it is looked up.
  std::string moved = own;
  moved.replace(moved.find("10.99.1.3"), 9, "10.99.1.4");
  h.Run(moved);
  CHECK(h.lookup_calls == 2);
  CHECK(h.lookups["10.99.1.4"] == 1);
  CHECK(h.lookups["10.99.1.2"] == 1);
  // A minute later all again, in one call.
  h.clock.Advance(seconds(61));
  h.Run(moved);
  CHECK(h.lookup_calls == 3);
  CHECK(h.lookups["10.99.1.2"] == 2);
  CHECK(h.lookups["10.99.0.5"] == 2);
}

TEST_CASE("bird round: the protocols first, then BIRD's clock", "[unit]") {
  Harness h({});
  h.Run();
  CHECK(h.bird.written ==
        std::vector<std::string>{"restrict", "show protocols all", "show status"});
}

TEST_CASE("bird round: the snapshot built as the reply is read is the one of the parsed replies",
          "[unit]") {
  Harness h({});
  bird::StateTracker tracker;  // The parsed replies' own, as the round has its own.
  // The second round's state changes come from the tracker's memory of the first; the third
  // and fourth fill the peers' vectors of the first two (given back when released).
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    const auto snap = h.Run();
    REQUIRE(snap->daemons.size() == 1);
    const DaemonSnapshot& streamed = snap->daemons[0];
    const auto status =
        bird::ParseShowStatus(testing::ReadFixture("bird1/show_status__all_states.raw"));
    const auto protocols =
        bird::ParseShowProtocols(testing::ReadFixture("bird1/show_protocols_all__all_states.raw"));
    REQUIRE(status.ok());
    REQUIRE(protocols.ok());
    const DaemonSnapshot parsed = BuildDaemonSnapshot("/var/run/calico/bird.ctl", *status,
                                                      *protocols, h.clock.Now(), &tracker);
    REQUIRE(streamed.peers.size() == parsed.peers.size());
    REQUIRE(streamed.peers.size() > 3);
    for (std::size_t i = 0; i < parsed.peers.size(); ++i) {
      const PeerSnapshot& a = streamed.peers[i];
      const PeerSnapshot& b = parsed.peers[i];
      CAPTURE(b.protocol);
      CHECK(a.protocol == b.protocol);
      CHECK(a.peer == b.peer);
      CHECK(a.peer_type == b.peer_type);
      CHECK(a.state == b.state);
      CHECK(a.protocol_state == b.protocol_state);
      CHECK(a.up == b.up);
      CHECK(a.neighbor_as == b.neighbor_as);
      CHECK(a.neighbor_router_id == b.neighbor_router_id);
      CHECK(a.source_address == b.source_address);
      CHECK(a.session == b.session);
      CHECK(a.last_error.Text() == b.last_error.Text());
      CHECK(a.bgp_error.Text() == b.bgp_error.Text());
      CHECK(a.hold_time_seconds == b.hold_time_seconds);
      CHECK(a.state_change_timestamp == b.state_change_timestamp);
      CHECK(a.state_changes_total == b.state_changes_total);
    }
    h.clock.Advance(seconds(5));
  }
}

// The builder converts a text once for a run of sessions that share it: every session still
// gets its own protocol's AS numbers and last error, whatever the one before it had.
TEST_CASE("snapshot builder: AS numbers and last errors shared by sessions in a row", "[unit]") {
  struct Row {
    std::optional<std::uint32_t> neighbor_as;
    std::optional<std::uint32_t> local_as;
    std::string last_error;
  };
  const std::vector<Row> rows = {
      {64512, 64512, "Socket: Connection refused"},
      {64512, 64512, "Socket: Connection refused"},
      {std::nullopt, 64512, ""},
      {65000, 64512, "BGP Error: Bad peer AS"},
      {65000, std::nullopt, "BGP Error: Bad peer AS"},
      {64512, 64512, "Socket: Connection refused"},
      {4200000000U, 64512, "Received: Hold timer expired"},
  };
  DaemonSnapshotBuilder builder;
  bird::StateTracker tracker;
  for (int round = 0; round < 2; ++round) {  // The second round starts from the first's last.
    CAPTURE(round);
    builder.Start(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      bird::Protocol p;
      p.name = "Mesh_10_0_0_" + std::to_string(i);
      p.proto = "BGP";
      p.state = "start";
      p.bgp_state = "Active";
      p.neighbor_as = rows[i].neighbor_as;
      p.local_as = rows[i].local_as;
      p.last_error = rows[i].last_error;
      builder.Add(std::move(p));
    }
    bird::Status status;
    status.version = "2.0.12";
    const DaemonSnapshot d = builder.Finish("/var/run/calico/bird.ctl", status,
                                            std::chrono::system_clock::now(), &tracker);
    REQUIRE(d.peers.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      const PeerSnapshot& peer = d.peers[i];
      const auto text = [](const std::optional<std::uint32_t>& as) {
        return as ? std::to_string(*as) : std::string();
      };
      CHECK(peer.neighbor_as == text(rows[i].neighbor_as));
      CHECK(peer.local_as == text(rows[i].local_as));
      const bird::LastError expected = bird::ClassifyLastError(rows[i].last_error);
      CHECK(peer.last_error.Text() == expected.Text());
      CHECK(peer.last_error.kind == expected.kind);
      CHECK(peer.last_error.error_class == expected.error_class);
    }
  }
}

TEST_CASE("bird round: a round fills the peers' vector of the snapshot released before it",
          "[unit]") {
  Harness h({});
  const auto address = [](const std::shared_ptr<const BirdSnapshot>& s) {
    return reinterpret_cast<std::uintptr_t>(s->daemons.at(0).peers.data());
  };
  const std::uintptr_t first = address(h.Run());   // The round keeps its last snapshot.
  const std::uintptr_t second = address(h.Run());  // The first is released when it returns.
  CHECK(second != first);
  const auto third = h.Run();
  CHECK(address(third) == first);
  // A reader holds the third: the next round takes the second's buffer, and the one after a
  // new one; the third's peers are untouched.
  const auto peers = third->daemons[0].peers.size();
  CHECK(address(h.Run()) == second);
  const auto fifth = h.Run();
  CHECK(address(third) == first);
  CHECK(third->daemons[0].peers.size() == peers);
  CHECK(fifth->daemons[0].peers.size() == peers);
  CHECK(third->daemons[0].peers[0].protocol == fifth->daemons[0].peers[0].protocol);
}

TEST_CASE("bird round: an address no interface holds is reported as not found", "[unit]") {
  Harness h({});
  auto snap = h.Run();
  REQUIRE(snap->daemons.size() == 1);
  REQUIRE_FALSE(snap->daemons[0].local_addresses.empty());
  CHECK_FALSE(snap->daemons[0].local_addresses[0].found);
}

}  // namespace
}  // namespace cbe
