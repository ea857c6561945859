// Reproducers of what the fuzzers (tests/fuzz) found, each reduced to the smallest input that
// shows it. They stay once the bug is fixed; the ASan/UBSan build (CBE_SANITIZE) turns the
// undefined behaviour itself into a failure, the assertions catch its visible effect elsewhere.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "exporter/core/bird_round.h"
#include "probes/bird/bird_time.h"
#include "probes/bird/client.h"
#include "probes/bird/parser.h"
#include "probes/bird/state_tracker.h"
#include "tests/unit/fake_stream.h"

namespace cbe::bird {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::system_clock;

// When the exporter read BIRD's replies (any moment works: only differences matter).
const system_clock::time_point kObserved{std::chrono::seconds(1795675722)};

BirdTime Time(const char* text) {
  const auto t = ParseBirdTime(text);
  REQUIRE(t.has_value());
  return *t;
}

// fuzz_bird_time, fuzz_bird_status and fuzz_bird_protocols, within seconds:
//   runtime error: signed integer overflow: 63957797322000 * 1000000 cannot be represented in
//   type 'long' (chrono.h duration_cast in ResolveBirdTime)
// system_clock counts nanoseconds in 64 bits, about +-292 years: a BIRD time further than that
// from BIRD's clock overflowed the conversion. No such time can be represented, so none may be
// returned.
TEST_CASE("fuzz regression: a time centuries away from BIRD's clock is not resolved", "[unit]") {
  const BirdTime server_now = Time("2026-11-26 06:48:42");
  for (const char* text :
       {"0000-02-29 00:00:00", "1700-01-01 00:00:00", "1700-01-01", "2400-01-01", "9999-12-31"}) {
    CAPTURE(text);
    CHECK_FALSE(ResolveBirdTime(Time(text), server_now, kObserved).has_value());
  }
  // BIRD's own clock far from the exporter's is fine: only the distance between the two BIRD
  // times matters.
  CHECK(ResolveBirdTime(Time("1013-11-26 06:50:00"), Time("1013-11-26 06:51:24"), kObserved)
            .has_value());
}

// The same overflow reached from a `show status` reply (fuzz_bird_status): a server time of
// 1013 and a reboot in 2026 must not produce a reboot timestamp.
TEST_CASE("fuzz regression: show status with a server time centuries off", "[unit]") {
  const auto status = ParseShowStatus(
      "1000-BIRD 2.0.12\n"
      "1011-Router ID is 10.99.0.5\n"
      " Current server time is 1013-11-26 06:51:24.770\n"
      " Last reboot on 2026-11-26 06:50:36.831\n"
      " Last reconfiguration on 2026-11-26 06:50:36.831\n"
      "0013 Daemon is up and running\n");
  REQUIRE(status.ok());
  const Protocols none;
  bird::StateTracker tracker;
  const DaemonSnapshot d =
      BuildDaemonSnapshot("/run/bird/bird.ctl", *status, none, kObserved, &tracker);
  CHECK_FALSE(d.last_reboot_timestamp.has_value());
  CHECK_FALSE(d.last_reconfiguration_timestamp.has_value());
}

// And from `show protocols all` (fuzz_bird_protocols): a since date 2026 years in the future.
TEST_CASE("fuzz regression: a protocol since date centuries off", "[unit]") {
  const auto status = ParseShowStatus(
      "1000-BIRD 1.6.8\n"
      "1011-Router ID is 10.99.0.5\n"
      " Current server time is 2026-11-26 06:48:42\n"
      "0013 Daemon is up and running\n");
  const auto protocols = ParseShowProtocols(
      "2002-name     proto    table    state  since       info\n"
      "1002-Mesh_10_99_0_1 BGP      master   up     4052-11-24  Established\n"
      "0000 \n");
  REQUIRE(status.ok());
  REQUIRE(protocols.ok());
  bird::StateTracker tracker;
  const DaemonSnapshot d =
      BuildDaemonSnapshot("/run/bird/bird.ctl", *status, *protocols, kObserved, &tracker);
  REQUIRE(d.peers.size() == 1);
  CHECK_FALSE(d.peers[0].state_change_timestamp.has_value());
}

// The invariant fuzz_bird_time checks (a time of day lies in the day before BIRD's clock),
// broken before 1970: `now - now % 24h` is the next midnight when `now` is negative, because %
// keeps the sign. A BIRD whose local clock reads 1969 (a node without RTC booting at the epoch
// in a zone west of UTC) put a session that changed state at 23:30 yesterday 30 minutes into
// the future.
TEST_CASE("fuzz regression: a time of day before 1970 is resolved to the day before", "[unit]") {
  const auto r = ResolveBirdTime(Time("23:30:00"), Time("1969-12-31 23:00:00"), kObserved);
  REQUIRE(r.has_value());
  CHECK(r->at == kObserved - hours(23) - minutes(30));
  const auto earlier = ResolveBirdTime(Time("22:00:00"), Time("1969-12-31 23:00:00"), kObserved);
  REQUIRE(earlier.has_value());
  CHECK(earlier->at == kObserved - hours(1));
}

// fuzz_bird_client: "FUZZ_CHECK failed: reply->size() <= cap". The cap was only checked while a
// reply was incomplete, so a reply whose last read completed it came back whole although it
// was larger than max_reply_bytes (by up to one 64 KiB read).
TEST_CASE("fuzz regression: a complete reply larger than max_reply_bytes is refused", "[unit]") {
  testing::FakeBird bird;
  testing::FakeClock clock;
  bird.clock = &clock;
  bird.chunk = 4096;  // The whole reply in one read.
  testing::FakeConnector connector(&bird);
  Client client(ClientOptions{"/run/bird/bird.ctl", std::chrono::milliseconds(500), 100},
                &connector, &clock);
  bird.replies.push_back("1000-BIRD " + std::string(200, '1') +
                         "\n0013 Daemon is up and running\n");
  const auto reply = client.Query("show status");
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().message.find("larger than the cap") != std::string::npos);
}

// fuzz_bird_protocols, in seconds:
//   short_string.h: runtime error: null pointer passed as argument 2, which is declared to
//   never be null
// A "1002" line with no text has a view with no data; its empty tokens went into the
// protocol's 16-byte strings through memcpy(dst, nullptr, 0).
TEST_CASE("fuzz regression: a protocol row with no text at all", "[unit]") {
  const auto parsed = ParseShowProtocols(
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002\n");  // Four digits alone: a last line with no text.
  REQUIRE(parsed.ok());
  CHECK(parsed->protocols.empty());
  CHECK(parsed->unparsed.lines == 1);
}

}  // namespace
}  // namespace cbe::bird
