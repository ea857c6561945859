#include "exporter/kube/backoff.h"

#include <algorithm>
#include <cmath>

namespace cbe::kube {

Backoff::Backoff(BackoffOptions options, std::function<double()> random01)
    : options_(options),
      random01_(std::move(random01)),
      base_ms_(static_cast<double>(options.initial.count())) {}

std::chrono::milliseconds Backoff::Next() {
  const double r = std::clamp(random01_(), 0.0, 1.0);
  const double jitter = std::clamp(options_.jitter, 0.0, 1.0);
  const double delay = base_ms_ * (1.0 - jitter + jitter * r);
  base_ms_ = std::min(base_ms_ * options_.factor, static_cast<double>(options_.max.count()));
  ++failures_;
  return std::chrono::milliseconds(std::llround(delay));
}

void Backoff::Reset() {
  base_ms_ = static_cast<double>(options_.initial.count());
  failures_ = 0;
}

}  // namespace cbe::kube
