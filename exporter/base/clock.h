#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace cbe {

// Time goes through this interface so tests inject it and never sleep.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall clock: for timestamps exported to Prometheus.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic clock: for deadlines and durations.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
  // Waits on `cv` (with `lock` held) until `wake()` is true or Monotonic() reaches `deadline`;
  // returns wake(). The one place a task waits for time, so that a test clock moves time itself
  // and no test sleeps (Envoy pairs its TimeSource with a scheduler the same way).
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         std::chrono::steady_clock::time_point deadline,
                         const std::function<bool()>& wake) const {
    return cv.wait_until(lock, deadline, wake);
  }

  // The injected waiter of sockets: waits for poll(2) events on `fds` until `until` on
  // Monotonic()'s time line; returns poll's result (0 when `until` came first). This one blocks
  // in poll(2) for the time left by Monotonic(); a fake clock overrides it to look at the fds
  // without blocking and move its own time on, so a test neither sleeps nor spins.
  virtual int Poll(pollfd* fds, std::size_t count,
                   std::chrono::steady_clock::time_point until) const;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// Seconds since the Unix epoch, as Prometheus timestamps want them.
inline double ToUnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace cbe
