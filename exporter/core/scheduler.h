#pragma once

// Runs a task on its own thread at a fixed rate until stopped. Stop() wakes it at once, and
// RunSoon() runs it again without waiting for the rest of the interval. Time goes through the
// injected Clock: tests move it by hand.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "exporter/base/clock.h"

namespace cbe {

// When the round after one that was due at `due` starts, at fixed rate: `due + interval`, or
// `now` when the round overran its interval.
std::chrono::steady_clock::time_point NextRun(std::chrono::steady_clock::time_point due,
                                              std::chrono::milliseconds interval,
                                              std::chrono::steady_clock::time_point now);

// The name of a task's thread: "round-bird", "round-tcp"... (at most 15 bytes, Linux's limit).
std::string RoundThreadName(std::string_view task);

// How the kernel schedules a task's thread.
enum class ThreadPolicy {
  kNormal,
  // SCHED_BATCH: a wakeup of the thread does not preempt the thread running on that CPU. For the
  // BIRD round: BIRD writes its reply in pieces and each wakes the reader; with kNormal the
  // reader preempts BIRD after each piece (about 80 context switches per round at 1000
  // sessions), with kBatch BIRD writes until its socket buffer is full and the reader takes it
  // all at once (about 8). Not for rounds that time packets or clocks.
  kBatch,
};

class PeriodicTask {
 public:
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
               const Clock* clock, ThreadPolicy policy = ThreadPolicy::kNormal);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Start();
  void Stop();  // Waits for a running task to finish.
  // Asks the task to stop without waiting (see WaitStopped).
  void RequestStop();
  // Runs the task once more as soon as the running round (if any) finished; the fixed rate
  // then counts from that run.
  void RunSoon();
  // Waits until `deadline` for the task to finish. False: it still runs (a round stuck on a
  // deadline of its own); the thread is then detached and the caller must exit the process.
  bool WaitStopped(std::chrono::steady_clock::time_point deadline);

  const std::string& name() const { return name_; }

 private:
  void Loop();
  // Waits for the next round: false when asked to stop.
  bool WaitForNext(std::chrono::steady_clock::time_point* due);

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  const Clock* clock_;
  ThreadPolicy policy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool run_soon_ = false;
  bool finished_ = false;
  std::condition_variable finished_cv_;
  std::thread thread_;
};

}  // namespace cbe
