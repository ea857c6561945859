#pragma once

// How long to wait before the next attempt after a failed request: exponential, capped, with
// jitter so that many clients (or our three resources) do not retry in step. Pure: the
// randomness is injected (a function returning a number in [0, 1)), so tests choose it.

#include <chrono>
#include <functional>

namespace cbe::kube {

struct BackoffOptions {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  // Share of each delay that is random: the delay is base * (1 - jitter + jitter * random),
  // i.e. between (1 - jitter) * base and base.
  double jitter = 0.5;
};

class Backoff {
 public:
  Backoff(BackoffOptions options, std::function<double()> random01);

  // The delay before the next attempt, after a failure; the base grows for the one after.
  std::chrono::milliseconds Next();
  // After a success: the next failure waits `initial` again.
  void Reset();
  int failures() const { return failures_; }

 private:
  BackoffOptions options_;
  std::function<double()> random01_;
  double base_ms_;
  int failures_ = 0;
};

}  // namespace cbe::kube
