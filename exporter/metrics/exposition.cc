#include "exporter/metrics/exposition.h"

#include "exporter/metrics/families.h"

namespace cbe {
namespace {

// The areas in exposition order; each builder adds its families (families.h).
void BuildExposition(const Snapshot& s, metrics::Families& families) {
  // Series per peer beyond the default ones, and which sessions have series of their own, as
  // the running config asks (metrics.extra, metrics.sessions).
  const MetricsConfig extra = s.config ? s.config->metrics : MetricsConfig{};
  const metrics::SessionView view(s, extra);
  metrics::AddBuildInfo(families);
  metrics::AddBirdFamilies(s.bird.get(), extra, view, families);
  const metrics::ProbeRunFamilies runs = metrics::AddProbeRunFamilies(families);
  if (s.bird) {
    runs.Add(s.bird->run);
  }
  metrics::AddProberFamilies(s, extra, view, runs, families);
  metrics::AddConfigFamilies(s.config.get(), families);
  metrics::AddIntentFamilies(s.intent.get(), s.diagnosis.get(), runs, families);
  metrics::AddDiagnosisFamilies(s.diagnosis.get(), view, families);
  metrics::AddAggregateFamilies(s, view, families);
}

}  // namespace

void RenderSnapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& sink,
                    std::size_t chunk) {
  metrics::Families families(chunk);
  BuildExposition(snapshot, families);
  families.Render(sink);
}

std::string SerializeSnapshot(const Snapshot& snapshot, std::size_t chunk) {
  std::string out;
  RenderSnapshot(
      snapshot, [&out](std::string_view text) { out += text; }, chunk);
  return out;
}

}  // namespace cbe
