#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cbe {

// Prometheus-style durations: "5s", "100ms", "1m30s", "1h", "2d". No sign, no bare numbers.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest Prometheus-style spelling: 1500ms -> "1500ms", 90000ms -> "1m30s".
std::string FormatDuration(std::chrono::milliseconds d);

// A human age: "42s", "5m3s", "2h0m", "3d4h". Negative ages are 0s.
std::string FormatAge(double seconds);

}  // namespace cbe
