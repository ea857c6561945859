#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cbe {

// Prometheus-style durations: "5s", "100ms", "1m30s", "1h", "2d". No sign, no bare numbers.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The Prometheus-style spelling, largest unit first: 1500ms -> "1s500ms", 90000ms -> "1m30s".
std::string FormatDuration(std::chrono::milliseconds d);

// A timeout as the probes' reasons write it ("no answer within 2s"): whole seconds in seconds,
// anything else in milliseconds: 2000ms -> "2s", 60000ms -> "60s", 1500ms -> "1500ms".
std::string FormatTimeout(std::chrono::milliseconds timeout);

// A human age: "42s", "5m3s", "2h0m", "3d4h". Negative ages are 0s.
std::string FormatAge(double seconds);

}  // namespace cbe
