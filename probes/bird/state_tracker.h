#pragma once

// Remembers each protocol's state between rounds: a stable state-change time (BIRD's "since"
// jitters by a second in 1.6 and becomes a bare date after 20 hours) and a count of changes.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "exporter/base/short_string.h"
#include "probes/bird/bird_time.h"
#include "probes/bird/last_error.h"

namespace cbe::bird {

class StateTracker {
 public:
  struct Observation {
    std::optional<double> state_change_timestamp;  // Unix seconds.
    bool timestamp_exact = true;
    std::uint64_t changes = 0;   // Changes seen since the exporter started.
    bool changed = false;        // This round saw a change (not a first sighting).
    std::string previous_state;  // The state before that change; empty without one.
  };

  // `state` is the exported state; `since` BIRD's time of the protocol's last state change.
  Observation Observe(std::string_view protocol, std::string_view state,
                      std::string_view since_text, std::optional<ResolvedTime> since);

  // A session's state as Observe() sees it, and what outlives its socket errors and its fall:
  // `bgp_error`, the last BGP-level error of a session that is not Established (empty once it
  // is); `tx_pending_when_last_up`, BIRD 3's TX pending the last time it was Established
  // (nullopt when never seen): a sender stuck before a hold timer expiry is evidence of what
  // stopped it.
  struct SessionObservation {
    Observation observation;
    LastError bgp_error;
    std::optional<std::uint64_t> tx_pending_when_last_up;
  };
  SessionObservation ObserveSession(std::string_view protocol, std::string_view state,
                                    std::string_view since_text, std::optional<ResolvedTime> since,
                                    bool established, const LastError& last_error,
                                    std::optional<std::uint64_t> tx_pending);

  // Starts a round: ForgetUnobserved() then forgets what this round does not Observe().
  void BeginRound() { ++round_; }
  // Forgets the protocols not observed since BeginRound(), so their series vanish and memory
  // stays flat.
  void ForgetUnobserved();

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    // 16 bytes each (base/short_string.h): one entry per session, for as long as it exists.
    ShortString state;
    ShortString since_text;
    std::optional<ResolvedTime> since;
    std::uint64_t changes = 0;
    LastError bgp_error;
    std::optional<std::uint64_t> tx_pending;
    std::uint64_t round = 0;  // The round that last observed it.
  };
  Observation ObserveEntry(Entry* e, bool inserted, std::string_view state,
                           std::string_view since_text, std::optional<ResolvedTime> since);

  // The entry of `protocol`, and whether it is new. Looked up by view: a round does not build
  // a string per session to find it.
  std::pair<Entry*, bool> EntryOf(std::string_view protocol);

  struct ViewHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  std::unordered_map<std::string, Entry, ViewHash, std::equal_to<>> entries_;
  std::uint64_t round_ = 0;
};

}  // namespace cbe::bird
