#include "exporter/base/clock.h"

#include <algorithm>

namespace cbe {
namespace {

// One poll(2) waits at most this long; callers loop to their deadline.
constexpr long long kMaxPollMs = 60'000;

}  // namespace

int Clock::Poll(pollfd* fds, std::size_t count, std::chrono::steady_clock::time_point until) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Monotonic());
  // Rounded up by a millisecond, so that a wait never ends just before `until`.
  const long long ms = std::clamp<long long>(left.count() + 1, 0, kMaxPollMs);
  return ::poll(fds, static_cast<nfds_t>(count), static_cast<int>(ms));
}

}  // namespace cbe
