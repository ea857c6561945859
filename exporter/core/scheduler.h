#pragma once

// Runs a task on its own thread at a fixed rate until stopped. Stop() wakes it at once.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cbe {

class PeriodicTask {
 public:
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Start();
  void Stop();  // Waits for a running task to finish.
  // Asks the task to stop without waiting (see WaitStopped).
  void RequestStop();
  // Waits until `deadline` for the task to finish. False: it still runs (a round stuck on a
  // deadline of its own); the thread is then detached and the caller must exit the process.
  bool WaitStopped(std::chrono::steady_clock::time_point deadline);

 private:
  void Loop();

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool finished_ = false;
  std::condition_variable finished_cv_;
  std::thread thread_;
};

}  // namespace cbe
