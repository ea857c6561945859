#include "probes/bird/bird_time.h"

#include <catch2/catch.hpp>

namespace cbe::bird {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

system_clock::time_point Unix(long long s, long long ms = 0) {
  return system_clock::time_point(seconds(s) + milliseconds(ms));
}

double UnixSeconds(system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

TEST_CASE("time: the forms BIRD prints", "[unit]") {
  CHECK(ParseBirdTime("06:47:44")->kind == BirdTime::Kind::kTimeOfDay);
  CHECK(ParseBirdTime("06:47:44")->value == seconds(6 * 3600 + 47 * 60 + 44));
  CHECK(ParseBirdTime("06:50:36.831")->value ==
        milliseconds((6 * 3600 + 50 * 60 + 36) * 1000 + 831));
  CHECK(ParseBirdTime("06:50:36.831234")->value ==
        milliseconds((6 * 3600 + 50 * 60 + 36) * 1000 + 831));  // iso short us
  CHECK(ParseBirdTime("06:50:36.8")->value == milliseconds((6 * 3600 + 50 * 60 + 36) * 1000 + 800));
  CHECK(ParseBirdTime("2026-11-25")->kind == BirdTime::Kind::kDate);
  CHECK(ParseBirdTime("2026-11-25")->value == seconds(1795564800));
  CHECK(ParseBirdTime("2026-11-26 06:48:42")->kind == BirdTime::Kind::kDateTime);
  CHECK(ParseBirdTime("2026-11-26 06:48:42")->value ==
        seconds(1795564800 + 86400 + 6 * 3600 + 48 * 60 + 42));
  CHECK(ParseBirdTime("  06:47:44  ").has_value());
  CHECK(ParseBirdTime("1796539722.831")->kind == BirdTime::Kind::kUnix);
  CHECK(ParseBirdTime("1796539722.831")->value == milliseconds(1796539722831));
  CHECK(ParseBirdTime("1796539722")->value == seconds(1796539722));
  CHECK(ParseBirdTime("123456789.5")->value == milliseconds(123456789500));
}

TEST_CASE("time: what is not a BIRD time", "[unit]") {
  for (const char* bad : {"",
                          "6:47:44",
                          "24:00:00",
                          "06:60:00",
                          "06:47:44.",
                          "06:47:44x",
                          "2026-13-01",
                          "2026-02-30",
                          "Jan05",
                          "2016",
                          "06:47",
                          "2026-11-26T06:48:42",
                          "2026-11-26  06:48:42",
                          "-06:47:44",
                          "12345678",
                          "1796539722.",
                          "1796539722.8x",
                          "1234567890123",
                          "+1796539722",
                          ".831"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseBirdTime(bad).has_value());
  }
}

const BirdTime kServerNow = *ParseBirdTime("2026-11-26 06:48:42");
// The exporter's clock when it read kServerNow, in a world where BIRD runs 1 hour ahead of UTC
// (CET): local 06:48:42 is 05:48:42 UTC.
const system_clock::time_point kObserved = Unix(1795564800 + 86400 + 5 * 3600 + 48 * 60 + 42);

TEST_CASE("time: a time of day earlier today", "[unit]") {
  auto r = ResolveBirdTime(*ParseBirdTime("06:47:44"), kServerNow, kObserved);
  REQUIRE(r);
  CHECK(r->exact);
  CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - 58);
}

TEST_CASE("time: a time of day after the server's time is yesterday", "[unit]") {
  auto r = ResolveBirdTime(*ParseBirdTime("23:10:00"), kServerNow, kObserved);
  REQUIRE(r);
  // 23:10:00 yesterday is 7 h 38 min 42 s before 06:48:42 today.
  CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - (7 * 3600 + 38 * 60 + 42));
}

TEST_CASE("time: a second of jitter past the server time is still today", "[unit]") {
  auto r = ResolveBirdTime(*ParseBirdTime("06:48:43"), kServerNow, kObserved);
  REQUIRE(r);
  CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) + 1);
}

TEST_CASE("time: milliseconds survive", "[unit]") {
  const BirdTime now = *ParseBirdTime("2026-11-26 06:51:24.770");
  auto r = ResolveBirdTime(*ParseBirdTime("06:50:37.619"), now, Unix(1000000, 770));
  REQUIRE(r);
  CHECK(UnixSeconds(r->at) == Approx(1000000.770 - 47.151).margin(1e-6));
}

// The fork's CI failure: BIRD 1.6 printed a session's time a second later than on the test's
// own connection (its jitter), and the exporter, reading BIRD's whole-second clock 0.99 s into
// that second, added the 0.99 s too: 2.008 s from BIRD's time.
TEST_CASE("time: BIRD's whole-second clock read late in its second: BIRD's time, not later",
          "[unit]") {
  for (const int ms : {0, 1, 500, 990, 999}) {
    CAPTURE(ms);
    const auto observed = kObserved + milliseconds(ms);
    auto r = ResolveBirdTime(*ParseBirdTime("06:47:44"), kServerNow, observed);
    REQUIRE(r);
    CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - 58);
    r = ResolveBirdTime(*ParseBirdTime("2026-11-26 06:47:44"), kServerNow, observed);
    REQUIRE(r);
    CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - 58);
  }
  // A clock printed with its milliseconds keeps the exporter's fraction ("milliseconds
  // survive" above).
}

TEST_CASE("time: a bare date gives the latest moment that fits, not exact", "[unit]") {
  // Yesterday: at least 20 h before 06:48:42 today, i.e. no later than 10:48:42 yesterday.
  auto r = ResolveBirdTime(*ParseBirdTime("2026-11-25"), kServerNow, kObserved);
  REQUIRE(r);
  CHECK_FALSE(r->exact);
  CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - 20 * 3600);
  // Three days ago: no later than the end of that day.
  auto old = ResolveBirdTime(*ParseBirdTime("2026-11-23"), kServerNow, kObserved);
  REQUIRE(old);
  CHECK(UnixSeconds(old->at) == UnixSeconds(kObserved) - (2 * 86400 + 6 * 3600 + 48 * 60 + 42));
}

TEST_CASE("time: a full date and time", "[unit]") {
  auto r = ResolveBirdTime(*ParseBirdTime("2026-11-26 06:47:44"), kServerNow, kObserved);
  REQUIRE(r);
  CHECK(UnixSeconds(r->at) == UnixSeconds(kObserved) - 58);
}

TEST_CASE("time: Unix times against a Unix server time, exact", "[unit]") {
  // BIRD's clock 2 s ahead of the exporter's: the difference cancels out as for local times.
  const BirdTime now = *ParseBirdTime("1796539724.500");
  auto r = ResolveBirdTime(*ParseBirdTime("1796539700.250"), now, Unix(1796539722, 500));
  REQUIRE(r);
  CHECK(r->exact);
  CHECK(UnixSeconds(r->at) == Approx(1796539698.250).margin(1e-6));
}

TEST_CASE("time: Unix and local times do not mix", "[unit]") {
  CHECK_FALSE(ResolveBirdTime(*ParseBirdTime("1796539700"), kServerNow, kObserved));
  CHECK_FALSE(ResolveBirdTime(*ParseBirdTime("06:47:44"), *ParseBirdTime("1796539724"), kObserved));
}

TEST_CASE("time: no server date and time, no resolution", "[unit]") {
  CHECK_FALSE(ResolveBirdTime(*ParseBirdTime("06:47:44"), *ParseBirdTime("06:48:42"), kObserved));
}

}  // namespace
}  // namespace cbe::bird
