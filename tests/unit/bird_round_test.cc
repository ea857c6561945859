// The BIRD round on recorded replies (a scripted control socket, no BIRD): what it publishes
// and where it looks up this node's own addresses.

#include "exporter/core/bird_round.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

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
  std::map<std::string, int> lookups;  // Address -> times looked up.
  BirdRound round;

  explicit Harness(std::map<std::string, net::LocalInterface> interfaces)
      : round(Config(), &connector, &clock,
              [this,
               interfaces](const net::IpAddress& ip) -> Result<std::optional<net::LocalInterface>> {
                ++lookups[ip.ToString()];
                const auto it = interfaces.find(ip.ToString());
                if (it == interfaces.end()) {
                  return std::optional<net::LocalInterface>();
                }
                return std::optional<net::LocalInterface>(it->second);
              }) {
    bird.clock = &clock;
  }
  static BirdConfig Config() {
    BirdConfig c;
    c.sockets = {"/var/run/calico/bird.ctl"};
    c.timeout = milliseconds(500);
    return c;
  }
  std::shared_ptr<const BirdSnapshot> Run() {
    // In the order the round asks: the protocols, then BIRD's clock.
    bird.replies = {testing::ReadFixture("bird1/show_protocols_all__all_states.raw"),
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

TEST_CASE("bird round: the protocols first, then BIRD's clock", "[unit]") {
  Harness h({});
  h.Run();
  CHECK(h.bird.written ==
        std::vector<std::string>{"restrict", "show protocols all", "show status"});
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
