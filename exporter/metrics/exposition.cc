#include "exporter/metrics/exposition.h"

#include "exporter/metrics/families.h"

namespace cbe {
namespace {

// The areas in exposition order; each builder adds its families (families.h), and each area's
// families are complete when its builder returns.
void BuildExposition(const Snapshot& s, metrics::Families& families) {
  // Series per peer beyond the default ones, and which sessions have series of their own, as
  // the running config asks (metrics.extra, metrics.sessions).
  const MetricsConfig extra = s.config ? s.config->metrics : MetricsConfig{};
  const metrics::SessionView view(s, extra);
  const std::function<void()> areas[] = {
      [&] { metrics::AddBuildInfo(families); },
      [&] { metrics::AddBirdFamilies(s.bird.get(), extra, view, families); },
      [&] { metrics::AddProbeRunFamilies(s, families); },
      [&] { metrics::AddProberFamilies(s, extra, view, families); },
      [&] { metrics::AddConfigFamilies(s.config.get(), families); },
      [&] { metrics::AddIntentFamilies(s.intent.get(), s.diagnosis.get(), families); },
      [&] { metrics::AddDiagnosisFamilies(s.diagnosis.get(), view, families); },
      [&] { metrics::AddAggregateFamilies(s, view, families); },
  };
  for (const auto& area : areas) {
    area();
    families.CloseAll();
  }
}

}  // namespace

void RenderSnapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& sink,
                    std::size_t chunk) {
  metrics::Families families(chunk, sink);
  BuildExposition(snapshot, families);
}

std::string SerializeSnapshot(const Snapshot& snapshot, std::size_t chunk) {
  std::string out;
  RenderSnapshot(
      snapshot, [&out](std::string_view text) { out += text; }, chunk);
  return out;
}

}  // namespace cbe
