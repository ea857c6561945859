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
  t.Observe("Global_1", "Idle", "06:00:00", std::nullopt);
  CHECK(t.StickyBgpError("Global_1", false, ClassifyLastError("BGP Error: Bad peer AS")).Text() ==
        "BGP Error: Bad peer AS");
  CHECK(t.StickyBgpError("Global_1", false, ClassifyLastError("Socket: Connection reset by peer"))
            .Text() == "BGP Error: Bad peer AS");
  CHECK(t.StickyBgpError("Global_1", false, ClassifyLastError("Received: Bad BGP identifier"))
            .Text() == "Received: Bad BGP identifier");
  CHECK(t.StickyBgpError("Global_1", true, ClassifyLastError("")).Text() == "");
  CHECK(
      t.StickyBgpError("Global_1", false, ClassifyLastError("Socket: Connection refused")).Text() ==
      "");
  CHECK(t.StickyBgpError("Unknown", false, ClassifyLastError("BGP Error: Bad peer AS")).Text() ==
        "");
  CHECK(t.size() == 1);
}

TEST_CASE("tracker: TX pending of the last Established round outlives the session", "[unit]") {
  StateTracker t;
  t.Observe("Mesh_1", "Established", "1796539700.000", std::nullopt);
  CHECK_FALSE(t.StickyTxPending("Mesh_1", true, std::nullopt).has_value());  // BIRD 1.6, 2.
  CHECK(t.StickyTxPending("Mesh_1", true, 0) == 0u);
  CHECK(t.StickyTxPending("Mesh_1", true, 8192) == 8192u);
  // Down: BIRD prints no TX pending; the last value seen while up stays.
  CHECK(t.StickyTxPending("Mesh_1", false, std::nullopt) == 8192u);
  CHECK(t.StickyTxPending("Mesh_1", false, std::nullopt) == 8192u);
  CHECK(t.StickyTxPending("Mesh_1", true, 0) == 0u);
  CHECK_FALSE(t.StickyTxPending("Unknown", true, 5).has_value());
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

namespace cbe::bird {
namespace {

TEST_CASE("tracker: ObserveSession is Observe and both Sticky calls in one", "[unit]") {
  struct Step {
    const char* state;
    const char* since;
    long long at;
    const char* last_error;
    std::optional<std::uint64_t> tx_pending;
  };
  const Step steps[] = {
      {"Established", "06:00:00", 1000, "", 4096},
      {"Established", "06:00:01", 1001, "", 0},  // BIRD 1.6's jitter: no change.
      {"Idle", "06:10:00", 1600, "BGP Error: Bad peer AS", std::nullopt},
      {"Active", "06:10:05", 1605, "Socket: Connection refused", std::nullopt},
      {"Established", "06:20:00", 2200, "", 512},
  };
  StateTracker separate;
  StateTracker together;
  for (const Step& s : steps) {
    CAPTURE(s.state, s.since);
    const bool up = std::string_view(s.state) == "Established";
    const LastError error = ClassifyLastError(s.last_error);
    const auto want = separate.Observe("Mesh_1", s.state, s.since, At(s.at));
    const LastError want_error = separate.StickyBgpError("Mesh_1", up, error);
    const auto want_tx = separate.StickyTxPending("Mesh_1", up, s.tx_pending);
    const auto got =
        together.ObserveSession("Mesh_1", s.state, s.since, At(s.at), up, error, s.tx_pending);
    CHECK(got.observation.changed == want.changed);
    CHECK(got.observation.changes == want.changes);
    CHECK(got.observation.previous_state == want.previous_state);
    CHECK(got.observation.state_change_timestamp == want.state_change_timestamp);
    CHECK(got.bgp_error.Text() == want_error.Text());
    CHECK(got.tx_pending_when_last_up == want_tx);
  }
  CHECK(together.size() == 1);
}

}  // namespace
}  // namespace cbe::bird
