#include "exporter/base/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace cbe {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};
// Longest names first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 7> kUnits = {{{"ms", 1},
                                         {"s", 1000},
                                         {"m", 60'000},
                                         {"h", 3'600'000},
                                         {"d", 86'400'000},
                                         {"w", 604'800'000},
                                         {"y", 31'536'000'000}}};

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  std::size_t last_unit = 0;  // Units must appear from largest to smallest, once each.
  bool first = true;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t digits_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > std::numeric_limits<std::int64_t>::max() / 10) {
        return std::nullopt;
      }
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == digits_start) {
      return std::nullopt;
    }
    const Unit* unit = nullptr;
    std::size_t rank = 0;
    for (std::size_t u = 0; u < kUnits.size(); ++u) {
      if (text.substr(i, kUnits[u].name.size()) == kUnits[u].name) {
        unit = &kUnits[u];
        rank = u == 0 ? 0 : u;  // Rank by size: ms=0, s=1, m=2, ...
        break;
      }
    }
    if (unit == nullptr) {
      return std::nullopt;
    }
    if (!first && rank >= last_unit) {
      return std::nullopt;
    }
    first = false;
    last_unit = rank;
    i += unit->name.size();
    if (n > (std::numeric_limits<std::int64_t>::max() - total) / unit->ms) {
      return std::nullopt;
    }
    total += n * unit->ms;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  for (std::size_t u = kUnits.size(); u-- > 1;) {
    if (kUnits[u].name == "w" || kUnits[u].name == "y") {
      continue;
    }
    if (ms >= kUnits[u].ms) {
      out += std::to_string(ms / kUnits[u].ms) + std::string(kUnits[u].name);
      ms %= kUnits[u].ms;
    }
  }
  if (ms > 0) {
    out += std::to_string(ms) + "ms";
  }
  return out;
}

std::string FormatTimeout(std::chrono::milliseconds timeout) {
  constexpr std::int64_t kMsPerSecond = 1000;
  return timeout.count() % kMsPerSecond == 0 ? std::to_string(timeout.count() / kMsPerSecond) + "s"
                                             : std::to_string(timeout.count()) + "ms";
}

std::string FormatAge(double seconds) {
  const auto s = static_cast<long long>(seconds < 0 ? 0 : seconds);
  if (s >= 86400) {
    return std::to_string(s / 86400) + "d" + std::to_string((s % 86400) / 3600) + "h";
  }
  if (s >= 3600) {
    return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
  }
  if (s >= 60) {
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  }
  return std::to_string(s) + "s";
}

}  // namespace cbe
