#include "exporter/core/probe_table.h"

#include <vector>

#include "exporter/core/bird_round.h"
#include "exporter/core/intent_round.h"
#include "exporter/core/probe_rounds.h"

namespace cbe {
namespace {

// The functions of one row, from its part of the snapshot and the round that produces it.
template <typename Part, std::shared_ptr<const Part> Snapshot::*kPart>
struct Row {
  static void Clear(SnapshotStore* store) { store->Clear(kPart); }
  static const ProbeRun* LastRun(const Snapshot& s) {
    const auto& part = s.*kPart;
    return part ? &part->run : nullptr;
  }
};

bool Always(const Config&) { return true; }

using BirdRow = Row<BirdSnapshot, &Snapshot::bird>;
using IntentRow = Row<IntentSnapshot, &Snapshot::intent>;

// The row of prober `i` of probes/: its settings are those of its config section.
ProbeKind ProberRow(std::size_t i) {
  const probes::Prober& prober = *probes::Probers()[i];
  return ProbeKind{
      prober.Name(),
      [i](const Config& c) { return c.probes.settings(i).enabled; },
      [i](const Config& c) { return c.probes.settings(i).interval; },
      [i](const Rounds& r, SnapshotStore* s) { s->PublishProbe(i, r.probes->Run(i)); },
      [i](SnapshotStore* s) { s->PublishProbe(i, nullptr); },
      [i](const Snapshot& s) {
        const probes::ProbeResult* result = s.probe(i);
        return result != nullptr ? &result->run : nullptr;
      },
      false,
      prober.ProbesPeers(),
      true,
      ThreadPolicy::kNormal,
  };
}

std::vector<ProbeKind> BuildKinds() {
  std::vector<ProbeKind> kinds;
  kinds.push_back(ProbeKind{
      "bird", Always, [](const Config& c) { return c.bird.interval; },
      [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::bird, r.bird->Run()); },
      BirdRow::Clear, BirdRow::LastRun, true, false, false, ThreadPolicy::kBatch});
  for (std::size_t i = 0; i < probes::Probers().size(); ++i) {
    kinds.push_back(ProberRow(i));
  }
  kinds.push_back(ProbeKind{
      "intent", [](const Config& c) { return c.intent.enabled(); },
      [](const Config& c) { return c.intent.interval; },
      [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::intent, r.intent->Run()); },
      IntentRow::Clear, IntentRow::LastRun, false, false, true, ThreadPolicy::kNormal});
  return kinds;
}

}  // namespace

std::span<const ProbeKind> ProbeKinds() {
  static const std::vector<ProbeKind> kKinds = BuildKinds();
  return kKinds;
}

}  // namespace cbe
