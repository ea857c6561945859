#pragma once

// Times as BIRD prints them, in BIRD's own time zone, and their conversion to Unix time.

#include <chrono>
#include <optional>
#include <string_view>

namespace cbe::bird {

struct BirdTime {
  enum class Kind {
    kTimeOfDay,  // "06:47:44" or "06:50:36.831": BIRD's default for changes under 20 hours.
    kDate,       // "2026-11-25": BIRD's default for changes 20 hours old or older.
    kDateTime,   // "2026-11-26 06:48:42[.770]": `timeformat ... iso long`, and `show status`.
    kUnix,       // "1796539722.831": what the exporter asks BIRD >= 2.16 for (kUnixTimeFormat).
  };
  Kind kind = Kind::kTimeOfDay;
  // kTimeOfDay: since local midnight. kDate, kDateTime: since 1970-01-01 00:00 local time.
  // kUnix: since 1970-01-01 00:00 UTC.
  std::chrono::milliseconds value{0};

  bool operator==(const BirdTime&) const = default;
};

// The CLI's `timeformat` argument that makes BIRD >= 2.16 print every time as kUnix, for one
// connection only: seconds since the epoch and milliseconds (BIRD's "%3f").
inline constexpr std::string_view kUnixTimeFormat = "\"%s.%3f\"";

// Parses one of the forms above. The fraction may have any number of digits.
std::optional<BirdTime> ParseBirdTime(std::string_view text);

// How a BIRD time maps onto the exporter's clock.
struct ResolvedTime {
  std::chrono::system_clock::time_point at;
  bool exact = true;  // false when BIRD gave only a date: `at` is then an estimate.
};

// Converts `t` to Unix time. `server_now` is BIRD's "Current server time" (a kDateTime) read at
// `observed` on the exporter's clock; the difference between the two absorbs BIRD's time zone
// (and any difference between BIRD's clock and the exporter's), in whole seconds when BIRD
// prints its clock in whole seconds. A kUnix time needs a kUnix server time, the other kinds a
// kDateTime one: BIRD prints all of one connection's times alike.
// A time of day later than the server's time belongs to the previous day. For a date only, the
// change happened that day and, with BIRD's default format, at least 20 hours before
// `server_now`: the latest moment that fits both is returned, with exact = false.
std::optional<ResolvedTime> ResolveBirdTime(const BirdTime& t, const BirdTime& server_now,
                                            std::chrono::system_clock::time_point observed);

}  // namespace cbe::bird
