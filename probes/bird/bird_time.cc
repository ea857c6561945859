#include "probes/bird/bird_time.h"

#include <algorithm>

namespace cbe::bird {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

bool ReadDigits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// "HH:MM:SS[.f+]" -> ms since midnight.
std::optional<milliseconds> ParseTimeOfDay(std::string_view s) {
  int h = 0;
  int m = 0;
  int sec = 0;
  if (s.size() < 8 || !ReadDigits(s, 0, 2, &h) || s[2] != ':' || !ReadDigits(s, 3, 2, &m) ||
      s[5] != ':' || !ReadDigits(s, 6, 2, &sec) || h > 23 || m > 59 || sec > 60) {
    return std::nullopt;
  }
  int ms = 0;
  if (s.size() > 8) {
    if (s[8] != '.' || s.size() == 9) {
      return std::nullopt;
    }
    int scale = 100;
    for (std::size_t i = 9; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return std::nullopt;
      }
      ms += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  return milliseconds((h * 3600 + m * 60 + sec) * 1000LL + ms);
}

// "YYYY-MM-DD" -> ms since the epoch at local midnight.
std::optional<milliseconds> ParseDate(std::string_view s) {
  int y = 0;
  int mo = 0;
  int d = 0;
  if (s.size() != 10 || !ReadDigits(s, 0, 4, &y) || s[4] != '-' || !ReadDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ReadDigits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<milliseconds>(std::chrono::sys_days(ymd).time_since_epoch());
}

// "1796539722[.831]" -> ms since the epoch (UTC). 9 to 12 digits of seconds: any time since
// 1973 (so that no other number passes for a time) and far from an overflow.
std::optional<milliseconds> ParseUnixTime(std::string_view s) {
  constexpr std::size_t kMinSecondDigits = 9;
  constexpr std::size_t kMaxSecondDigits = 12;
  const std::size_t dot = std::min(s.find('.'), s.size());
  if (dot < kMinSecondDigits || dot > kMaxSecondDigits || dot + 1 == s.size()) {
    return std::nullopt;
  }
  long long seconds = 0;
  for (std::size_t i = 0; i < dot; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    seconds = seconds * 10 + (s[i] - '0');
  }
  int ms = 0;
  int scale = 100;
  for (std::size_t i = dot + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    ms += (s[i] - '0') * scale;
    scale /= 10;
  }
  return milliseconds(seconds * 1000 + ms);
}

}  // namespace

std::optional<BirdTime> ParseBirdTime(std::string_view text) {
  while (!text.empty() && text.back() == ' ') {
    text.remove_suffix(1);
  }
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  if (auto tod = ParseTimeOfDay(text)) {
    return BirdTime{BirdTime::Kind::kTimeOfDay, *tod};
  }
  if (auto date = ParseDate(text)) {
    return BirdTime{BirdTime::Kind::kDate, *date};
  }
  if (auto unix_time = ParseUnixTime(text)) {
    return BirdTime{BirdTime::Kind::kUnix, *unix_time};
  }
  if (text.size() > 11 && text[10] == ' ') {
    auto date = ParseDate(text.substr(0, 10));
    auto tod = ParseTimeOfDay(text.substr(11));
    if (date && tod) {
      return BirdTime{BirdTime::Kind::kDateTime, *date + *tod};
    }
  }
  return std::nullopt;
}

std::optional<ResolvedTime> ResolveBirdTime(const BirdTime& t, const BirdTime& server_now,
                                            std::chrono::system_clock::time_point observed) {
  const bool unix_times = server_now.kind == BirdTime::Kind::kUnix;
  if ((server_now.kind != BirdTime::Kind::kDateTime && !unix_times) ||
      (t.kind == BirdTime::Kind::kUnix) != unix_times) {
    return std::nullopt;
  }
  const milliseconds now = server_now.value;
  // BIRD 1.6 and the fork print their clock in whole seconds: `server_now` is the second it
  // read, and `observed` lies up to a second (plus the query's time) after it. Counting from
  // `observed` as it is put every time up to a second after the one BIRD printed, and BIRD
  // 1.6's own second of jitter came on top. With no fraction on BIRD's clock, the offset
  // between the two clocks is taken in whole seconds too: when they agree, BIRD's time itself.
  if (now % std::chrono::seconds(1) == milliseconds(0)) {
    observed = std::chrono::floor<std::chrono::seconds>(observed);
  }
  // Times further than a century from BIRD's own clock are nonsense, and would overflow the
  // nanoseconds of system_clock (about 292 years).
  constexpr milliseconds kMaxDistance = hours(24 * 366 * 100);
  const auto to_unix = [&](milliseconds local, bool exact) -> std::optional<ResolvedTime> {
    const milliseconds ago = now - local;
    if (ago > kMaxDistance || ago < -kMaxDistance) {
      return std::nullopt;
    }
    // ...and the result must fit system_clock too, wherever `observed` lies.
    using Duration = std::chrono::system_clock::duration;
    const Duration shift = std::chrono::duration_cast<Duration>(ago);
    const Duration since_epoch = observed.time_since_epoch();
    if ((shift < Duration::zero() && since_epoch > Duration::max() + shift) ||
        (shift > Duration::zero() && since_epoch < Duration::min() + shift)) {
      return std::nullopt;
    }
    return ResolvedTime{observed - shift, exact};
  };
  switch (t.kind) {
    case BirdTime::Kind::kDateTime:
    case BirdTime::Kind::kUnix:
      return to_unix(t.value, true);
    case BirdTime::Kind::kTimeOfDay: {
      // floor, not now - now % 24h: before 1970 the remainder is negative.
      const milliseconds midnight = std::chrono::floor<std::chrono::days>(now);
      milliseconds local = midnight + t.value;
      // BIRD 1.6 rounds its times: allow a second of jitter before assuming "yesterday".
      if (local > now + std::chrono::seconds(1)) {
        local -= hours(24);
      }
      return to_unix(local, true);
    }
    case BirdTime::Kind::kDate: {
      const milliseconds day_end = t.value + hours(24);
      milliseconds latest = std::min(day_end, now - hours(20));
      latest = std::max(latest, t.value);
      return to_unix(latest, false);
    }
  }
  return std::nullopt;
}

}  // namespace cbe::bird
