// The probes' self-metrics (calico_bgp_probe_*) and the series of every prober of probes/
// (each writes its own through probes::MetricWriter).

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "exporter/metrics/families.h"

namespace cbe::metrics {

void AddProbeRunFamilies(const Snapshot& snapshot, Families& families) {
  std::vector<const ProbeRun*> runs;
  if (snapshot.bird) {
    runs.push_back(&snapshot.bird->run);
  }
  for (std::size_t i = 0; i < probes::Probers().size(); ++i) {
    if (const probes::ProbeResult* result = snapshot.probe(i); result != nullptr) {
      runs.push_back(&result->run);
    }
  }
  if (snapshot.intent) {
    runs.push_back(&snapshot.intent->run);
  }
  // One family after the other, each over every run.
  const auto add = [&](std::string name, std::string help, double (*value)(const ProbeRun&)) {
    Family& family = families.Add(std::move(name), std::move(help));
    for (const ProbeRun* run : runs) {
      family.Add({{"probe", run->probe}}, value(*run));
    }
    family.Close();
  };
  add("calico_bgp_probe_success", "1 if the last run of the probe succeeded, else 0.",
      [](const ProbeRun& r) { return r.success ? 1.0 : 0.0; });
  add("calico_bgp_probe_duration_seconds", "How long the last run of the probe took.",
      [](const ProbeRun& r) { return r.duration_seconds; });
  add("calico_bgp_probe_last_run_timestamp_seconds",
      "Unix time the last run of the probe finished.",
      [](const ProbeRun& r) { return r.last_run_timestamp; });
}

namespace {

// A prober's view of the exposition (probes::MetricWriter): its families go into `families` in
// the order it asks for them.
class ProberWriter final : public probes::MetricWriter {
 public:
  ProberWriter(Families& families, const MetricsConfig& extra, const SessionView& view)
      : families_(families), extra_(extra), view_(view) {}

  probes::MetricFamily& Family(std::string name, std::string help) override {
    return adapters_.emplace_back(&families_.Add(std::move(name), std::move(help)));
  }
  bool ShowPeer(const std::string& address) const override { return view_.ShowPeer(address); }
  bool Extra(std::string_view name) const override {
    for (const MetricExtra& e : kMetricExtras) {
      if (e.name == name) {
        return extra_.*e.on;
      }
    }
    return false;
  }

 private:
  class Adapter final : public probes::MetricFamily {
   public:
    explicit Adapter(metrics::Family* family) : family_(family) {}
    void Add(probes::Labels labels, double value) override {
      Labels out;
      out.reserve(labels.size());
      for (probes::Label& l : labels) {
        out.push_back({std::move(l.name), std::move(l.value)});
      }
      family_->Add(std::move(out), value);
    }

   private:
    metrics::Family* family_;
  };

  Families& families_;
  const MetricsConfig& extra_;
  const SessionView& view_;
  std::deque<Adapter> adapters_;  // A deque: Family() never moves the ones handed out.
};

}  // namespace

void AddProberFamilies(const Snapshot& snapshot, const MetricsConfig& extra,
                       const SessionView& view, Families& families) {
  ProberWriter writer(families, extra, view);
  const auto probers = probes::Probers();
  for (std::size_t i = 0; i < probers.size(); ++i) {
    if (const probes::ProbeResult* result = snapshot.probe(i); result != nullptr) {
      probers[i]->Expose(*result, writer);
      families.CloseAll();  // The prober's families are complete.
    }
  }
}

}  // namespace cbe::metrics
