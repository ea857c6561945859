#include "exporter/core/scheduler.h"

#include <exception>

#include "exporter/base/logging.h"
#include "exporter/base/memory.h"

namespace cbe {

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> task)
    : name_(std::move(name)), interval_(interval), task_(std::move(task)) {}

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

void PeriodicTask::Loop() {
  struct Finished {
    PeriodicTask* task;
    ~Finished() {
      std::lock_guard lock(task->mu_);
      task->finished_ = true;
      task->finished_cv_.notify_all();
    }
  } finished{this};
  auto next = std::chrono::steady_clock::now();
  while (true) {
    try {
      task_();
    } catch (const std::exception& e) {
      logging::Error("task failed", {{"task", name_}, {"err", e.what()}});
    }
    ReleaseFreeMemory();
    next += interval_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) {
      next = now;  // The round overran its interval: start the next one right away.
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, next, [this] { return stop_; })) {
      return;
    }
  }
}

}  // namespace cbe
