#include "exporter/core/scheduler.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "exporter/base/logging.h"

namespace cbe {

std::chrono::steady_clock::time_point NextRun(std::chrono::steady_clock::time_point due,
                                              std::chrono::milliseconds interval,
                                              std::chrono::steady_clock::time_point now) {
  const auto next = due + interval;
  return next < now ? now : next;
}

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> task, const Clock* clock, ThreadPolicy policy)
    : name_(std::move(name)),
      interval_(interval),
      task_(std::move(task)),
      clock_(clock),
      policy_(policy) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Start() {
  std::lock_guard lock(mu_);
  stop_ = false;
  finished_ = false;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { Loop(); });
  }
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PeriodicTask::RunSoon() {
  {
    std::lock_guard lock(mu_);
    run_soon_ = true;
  }
  cv_.notify_all();
}

void PeriodicTask::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool PeriodicTask::WaitStopped(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) {
    return true;
  }
  std::unique_lock lock(mu_);
  if (!finished_cv_.wait_until(lock, deadline, [this] { return finished_; })) {
    lock.unlock();
    thread_.detach();
    return false;
  }
  lock.unlock();
  thread_.join();
  return true;
}

std::string RoundThreadName(std::string_view task) {
  // Linux keeps 15 bytes of a thread's name.
  return std::string("round-").append(task.substr(0, 9));
}

void PeriodicTask::Loop() {
  // Named for `top -H`, `ps -L` and perf: which round is busy, and which thread is BIRD's.
  pthread_setname_np(pthread_self(), RoundThreadName(name_).c_str());
  if (policy_ == ThreadPolicy::kBatch) {
    const sched_param param{};
    // 0: this thread. Needs no privilege; a seccomp filter may still refuse it.
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      logging::Warn("round keeps the normal scheduling policy",
                    {{"task", name_}, {"err", std::strerror(errno)}});
    }
  }
  struct Finished {
    PeriodicTask* task;
    ~Finished() {
      std::lock_guard lock(task->mu_);
      task->finished_ = true;
      task->finished_cv_.notify_all();
    }
  } finished{this};
  auto due = clock_->Monotonic();
  do {
    try {
      task_();
    } catch (const std::exception& e) {
      logging::Error("task failed", {{"task", name_}, {"err", e.what()}});
    }
  } while (WaitForNext(&due));
}

bool PeriodicTask::WaitForNext(std::chrono::steady_clock::time_point* due) {
  *due = NextRun(*due, interval_, clock_->Monotonic());
  std::unique_lock lock(mu_);
  clock_->WaitUntil(lock, cv_, *due, [this] { return stop_ || run_soon_; });
  if (stop_) {
    return false;
  }
  if (run_soon_) {
    run_soon_ = false;
    *due = clock_->Monotonic();
  }
  return true;
}

}  // namespace cbe
