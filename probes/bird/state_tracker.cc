#include "probes/bird/state_tracker.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace cbe::bird {
namespace {

// BIRD 1.6 prints whole seconds derived from its monotonic clock: the same instant can come
// out one second apart in two queries.
constexpr double kJitterSeconds = 1.5;
constexpr std::chrono::milliseconds kJitter{1000};

double Seconds(const ResolvedTime& t) {
  return std::chrono::duration<double>(t.at.time_since_epoch()).count();
}

}  // namespace

std::pair<StateTracker::Entry*, bool> StateTracker::EntryOf(std::string_view protocol) {
  if (auto it = entries_.find(protocol); it != entries_.end()) {
    return {&it->second, false};
  }
  return {&entries_.emplace(std::string(protocol), Entry()).first->second, true};
}

StateTracker::Observation StateTracker::Observe(std::string_view protocol, std::string_view state,
                                                std::string_view since_text,
                                                std::optional<ResolvedTime> since) {
  auto [e, inserted] = EntryOf(protocol);
  return ObserveEntry(e, inserted, state, since_text, since);
}

StateTracker::SessionObservation StateTracker::ObserveSession(
    std::string_view protocol, std::string_view state, std::string_view since_text,
    std::optional<ResolvedTime> since, bool established, const LastError& last_error,
    std::optional<std::uint64_t> tx_pending) {
  auto [e, inserted] = EntryOf(protocol);
  SessionObservation out;
  out.observation = ObserveEntry(e, inserted, state, since_text, since);
  if (established) {
    e->bgp_error = {};
    e->tx_pending = tx_pending;
  } else if (last_error.bgp_level()) {
    e->bgp_error = last_error;
  }
  out.bgp_error = e->bgp_error;
  out.tx_pending_when_last_up = e->tx_pending;
  return out;
}

StateTracker::Observation StateTracker::ObserveEntry(Entry* entry, bool inserted,
                                                     std::string_view state,
                                                     std::string_view since_text,
                                                     std::optional<ResolvedTime> since) {
  Observation obs;
  Entry& e = *entry;
  e.round = round_;
  if (inserted) {
    e.state = state;
    e.since_text = since_text;
    e.since = since;
  } else {
    bool moved = false;  // BIRD's since moved: the protocol changed state between rounds.
    if (since_text != e.since_text) {
      // Compare BIRD's own times, not their Unix conversions: those also carry the exporter's
      // query latency and the truncation of BIRD's clock to whole seconds.
      const auto now_bird = ParseBirdTime(since_text);
      const auto old_bird = ParseBirdTime(e.since_text);
      if (now_bird && old_bird && now_bird->kind == old_bird->kind &&
          now_bird->kind != BirdTime::Kind::kDate) {
        auto diff = std::chrono::abs(now_bird->value - old_bird->value);
        if (now_bird->kind == BirdTime::Kind::kTimeOfDay) {
          diff = std::min(diff, std::chrono::milliseconds(std::chrono::hours(24)) - diff);
        }
        moved = diff > kJitter;
      } else if (!since || !e.since) {
        moved = since.has_value() != e.since.has_value();
      } else if (!since->exact) {
        // A time of day turned into a bare date: the same change, now older than 20 hours.
        moved = e.since->exact ? false : since->at != e.since->at;
      } else {
        moved = !e.since->exact || std::fabs(Seconds(*since) - Seconds(*e.since)) > kJitterSeconds;
      }
    }
    const bool state_changed = state != e.state;
    if (state_changed || moved) {
      ++e.changes;
      obs.changed = true;
      obs.previous_state = e.state;
    }
    if (moved) {
      e.since = since;
    }
    // Most rounds change neither: no copy then (1000 sessions a round).
    if (state_changed) {
      e.state = state;
    }
    if (since_text != e.since_text) {
      e.since_text = since_text;
    }
  }
  obs.changes = e.changes;
  if (e.since) {
    obs.state_change_timestamp = Seconds(*e.since);
    obs.timestamp_exact = e.since->exact;
  }
  return obs;
}

void StateTracker::ForgetUnobserved() {
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.round != round_; });
}

}  // namespace cbe::bird
