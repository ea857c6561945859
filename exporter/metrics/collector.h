#pragma once

// The only place that knows prometheus-cpp: turns the latest snapshot into metric families.
// Families are built fresh on each scrape, so series of vanished peers vanish with the next
// snapshot.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/core/snapshot.h"

namespace cbe {

class Collector final : public prometheus::Collectable {
 public:
  explicit Collector(const SnapshotStore* store) : store_(store) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const SnapshotStore* store_;
};

// The families of one snapshot (what Collect() returns), for tests and the golden file.
std::vector<prometheus::MetricFamily> BuildFamilies(const Snapshot& snapshot);

// Samples per family held as objects while rendering (exporter/collector.cc, Family).
constexpr std::size_t kRenderChunk = 256;

// The exposition text of one snapshot, handed to `sink` piece by piece (a family at a time).
void RenderSnapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& sink,
                    std::size_t chunk = kRenderChunk);

// The exposition text of one snapshot.
std::string SerializeSnapshot(const Snapshot& snapshot, std::size_t chunk = kRenderChunk);

std::string CompilerName();

}  // namespace cbe
