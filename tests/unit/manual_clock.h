#pragma once

// A clock that moves only when the test says so, shared by threads: tasks that wait for time
// (Clock::WaitUntil) block until Advance() passes their deadline or they are woken. No test
// that uses it sleeps; it polls for the state it wants with a deadline (WaitFor).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "exporter/base/clock.h"

namespace cbe::testing {

class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(kWallStart) + Elapsed();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(kMonoStart) + Elapsed();
  }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 std::chrono::steady_clock::time_point deadline,
                 const std::function<bool()>& wake) const override {
    Register(lock.mutex(), &cv);
    while (!wake() && Monotonic() < deadline) {
      cv.wait(lock);
    }
    Unregister(lock.mutex(), &cv);
    return wake();
  }
  // Tasks blocked in WaitUntil now: a test advances time once the task waits for it.
  std::size_t Waiters() const {
    std::lock_guard g(mu_);
    return waiters_.size();
  }
  // Moves time on and wakes every waiter, which then checks its deadline again.
  void Advance(std::chrono::milliseconds d) {
    elapsed_ms_ += d.count();
    std::vector<std::pair<std::mutex*, std::condition_variable*>> waiters;
    {
      std::lock_guard g(mu_);
      waiters = waiters_;
    }
    for (auto [m, cv] : waiters) {
      // Taking the waiter's mutex orders this wake-up after its deadline check.
      { std::lock_guard g(*m); }
      cv->notify_all();
    }
  }

 private:
  static constexpr std::chrono::seconds kWallStart{1795650000};
  static constexpr std::chrono::hours kMonoStart{1};

  std::chrono::milliseconds Elapsed() const { return std::chrono::milliseconds(elapsed_ms_); }
  void Register(std::mutex* m, std::condition_variable* cv) const {
    std::lock_guard g(mu_);
    for (auto [wm, wcv] : waiters_) {
      if (wm == m && wcv == cv) {
        return;
      }
    }
    waiters_.emplace_back(m, cv);
  }

  void Unregister(std::mutex* m, std::condition_variable* cv) const {
    std::lock_guard g(mu_);
    std::erase_if(waiters_, [&](const auto& w) { return w.first == m && w.second == cv; });
  }

  std::atomic<long long> elapsed_ms_{0};
  mutable std::mutex mu_;
  mutable std::vector<std::pair<std::mutex*, std::condition_variable*>> waiters_;
};

// Polls `done` until it holds or 10 s of real time passed (a failing test fails, it never hangs).
inline bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

}  // namespace cbe::testing
