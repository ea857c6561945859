#pragma once

// A clock whose waits never block: Poll looks at the real fds without waiting, and when none is
// ready moves its own time on by `step` (never past the deadline asked for). Counts the polls,
// so a test can show a loop ends after a bounded number of them.

#include <poll.h>

#include <algorithm>
#include <chrono>

#include "exporter/base/clock.h"

namespace cbe::testing {

class FakePollClock final : public Clock {
 public:
  explicit FakePollClock(std::chrono::milliseconds step) : step_(step) {}

  std::chrono::system_clock::time_point Now() const override {
    return wall_start_ + (mono_ - mono_start_);
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }

  int Poll(pollfd* fds, std::size_t count,
           std::chrono::steady_clock::time_point until) const override {
    ++polls_;
    const int ready = ::poll(fds, static_cast<nfds_t>(count), 0);
    if (ready == 0) {
      mono_ = std::max(mono_, std::min(until, mono_ + step_));
    }
    return ready;
  }

  int polls() const { return polls_; }

 private:
  std::chrono::milliseconds step_;
  const std::chrono::system_clock::time_point wall_start_{std::chrono::seconds(1795650000)};
  const std::chrono::steady_clock::time_point mono_start_{std::chrono::hours(1)};
  mutable std::chrono::steady_clock::time_point mono_ = mono_start_;
  mutable int polls_ = 0;
};

}  // namespace cbe::testing
