#include "probes/bird/state_tracker.h"

#include <catch2/catch.hpp>

namespace cbe::bird {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

ResolvedTime At(long long s, bool exact = true) {
  return {system_clock::time_point(seconds(s)), exact};
}

TEST_CASE("tracker: first sighting is not a change", "[unit]") {
  StateTracker t;
  auto o = t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  CHECK_FALSE(o.changed);
  CHECK(o.changes == 0);
  CHECK(o.state_change_timestamp == 1000.0);
  CHECK(o.timestamp_exact);
}

TEST_CASE("tracker: a state change counts once and is reported once", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  auto o = t.Observe("Mesh_1", "Active", "07:00:00", At(1734));
  CHECK(o.changed);
  CHECK(o.previous_state == "Established");
  CHECK(o.changes == 1);
  CHECK(o.state_change_timestamp == 1734.0);
  auto again = t.Observe("Mesh_1", "Active", "07:00:00", At(1734));
  CHECK_FALSE(again.changed);
  CHECK(again.changes == 1);
  CHECK(again.previous_state.empty());  // Only a change has one.
}

TEST_CASE("tracker: BIRD 1.6's one-second jitter keeps the first time", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  auto o = t.Observe("Mesh_1", "Established", "06:47:47", At(1001));
  CHECK_FALSE(o.changed);
  CHECK(o.state_change_timestamp == 1000.0);
}

TEST_CASE("tracker: a since that moves with the same state is a hidden flap", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  auto o = t.Observe("Mesh_1", "Established", "06:52:10", At(1264));
  CHECK(o.changed);
  CHECK(o.changes == 1);
  CHECK(o.previous_state == "Established");
  CHECK(o.state_change_timestamp == 1264.0);
}

TEST_CASE("tracker: after 20 hours the date keeps the exact time seen before", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  auto o = t.Observe("Mesh_1", "Established", "2026-11-25", At(900, false));
  CHECK_FALSE(o.changed);
  CHECK(o.state_change_timestamp == 1000.0);
  CHECK(o.timestamp_exact);
}

TEST_CASE("tracker: a date seen first is an estimate and stays stable", "[unit]") {
  StateTracker t;
  auto first = t.Observe("Mesh_1", "Established", "2026-11-20", At(5000, false));
  CHECK_FALSE(first.timestamp_exact);
  CHECK(first.state_change_timestamp == 5000.0);
  auto later = t.Observe("Mesh_1", "Established", "2026-11-20", At(5005, false));
  CHECK(later.state_change_timestamp == 5000.0);
  CHECK_FALSE(later.changed);
}

TEST_CASE("tracker: vanished protocols are forgotten", "[unit]") {
  StateTracker t;
  t.BeginRound();
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  t.Observe("Mesh_2", "Active", "06:47:46", At(1000));
  t.ForgetUnobserved();
  CHECK(t.size() == 2);
  t.BeginRound();
  t.Observe("Mesh_2", "Active", "06:47:46", At(1000));
  t.ForgetUnobserved();
  CHECK(t.size() == 1);
  auto o = t.Observe("Mesh_1", "Idle", "08:00:00", At(2000));
  CHECK_FALSE(o.changed);  // A new sighting.
  CHECK(o.changes == 0);
}

}  // namespace
}  // namespace cbe::bird

namespace cbe::bird {
namespace {

TEST_CASE("tracker: a BGP error outlives the socket errors of the retries", "[unit]") {
  StateTracker t;
  const auto error = [&](bool established, std::string_view last_error) {
    return t
        .ObserveSession("Global_1", established ? "Established" : "Idle", "06:00:00", std::nullopt,
                        established, ClassifyLastError(last_error), std::nullopt)
        .bgp_error.Text();
  };
  CHECK(error(false, "BGP Error: Bad peer AS") == "BGP Error: Bad peer AS");
  CHECK(error(false, "Socket: Connection reset by peer") == "BGP Error: Bad peer AS");
  CHECK(error(false, "Received: Bad BGP identifier") == "Received: Bad BGP identifier");
  CHECK(error(true, "") == "");
  CHECK(error(false, "Socket: Connection refused") == "");
  CHECK(t.size() == 1);
}

TEST_CASE("tracker: TX pending of the last Established round outlives the session", "[unit]") {
  StateTracker t;
  const auto tx = [&](bool established, std::optional<std::uint64_t> tx_pending) {
    return t
        .ObserveSession("Mesh_1", established ? "Established" : "Active", "1796539700.000",
                        std::nullopt, established, ClassifyLastError(""), tx_pending)
        .tx_pending_when_last_up;
  };
  CHECK_FALSE(tx(true, std::nullopt).has_value());  // BIRD 1.6, 2.
  CHECK(tx(true, 0) == 0u);
  CHECK(tx(true, 8192) == 8192u);
  // Down: BIRD prints no TX pending; the last value seen while up stays.
  CHECK(tx(false, std::nullopt) == 8192u);
  CHECK(tx(false, std::nullopt) == 8192u);
  CHECK(tx(true, 0) == 0u);
}

TEST_CASE("tracker: ObserveSession observes the state as Observe does", "[unit]") {
  struct Step {
    const char* state;
    const char* since;
    long long at;
  };
  const Step steps[] = {
      {"Established", "06:00:00", 1000},
      {"Established", "06:00:01", 1001},  // BIRD 1.6's jitter: no change.
      {"Idle", "06:10:00", 1600},
      {"Established", "06:20:00", 2200},
  };
  StateTracker plain;
  StateTracker session;
  for (const Step& s : steps) {
    CAPTURE(s.state, s.since);
    const auto want = plain.Observe("Mesh_1", s.state, s.since, At(s.at));
    const auto got = session
                         .ObserveSession("Mesh_1", s.state, s.since, At(s.at),
                                         std::string_view(s.state) == "Established",
                                         ClassifyLastError(""), std::nullopt)
                         .observation;
    CHECK(got.changed == want.changed);
    CHECK(got.changes == want.changes);
    CHECK(got.previous_state == want.previous_state);
    CHECK(got.state_change_timestamp == want.state_change_timestamp);
  }
  CHECK(session.size() == 1);
}

}  // namespace
}  // namespace cbe::bird

namespace cbe::bird {
namespace {

TEST_CASE("tracker: BIRD's own times decide, not the exporter's latency", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "06:47:46", At(1000));
  // The same since, read 2.4 s late by a busy exporter: the resolved time moved, BIRD's did not.
  auto same = t.Observe("Mesh_1", "Established", "06:47:47", At(1002));
  CHECK_FALSE(same.changed);
  CHECK(same.state_change_timestamp == 1000.0);
  // Two seconds later in BIRD's own clock: a restart between rounds.
  auto moved = t.Observe("Mesh_1", "Established", "06:47:49", At(1003));
  CHECK(moved.changed);
  // Across midnight.
  StateTracker m;
  m.Observe("Mesh_2", "Established", "23:59:59", At(5000));
  CHECK_FALSE(m.Observe("Mesh_2", "Established", "00:00:00", At(5001)).changed);
}

}  // namespace
}  // namespace cbe::bird
