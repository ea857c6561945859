#pragma once

// The only place that knows prometheus-cpp: turns the latest snapshot into metric families.
// Families are built fresh on each scrape, so series of vanished peers vanish with the next
// snapshot.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <vector>

#include "exporter/snapshot.h"

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

// The exposition text of one snapshot.
std::string SerializeSnapshot(const Snapshot& snapshot);

std::string CompilerName();

}  // namespace cbe
