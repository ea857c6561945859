// The intent client: what intent serve says this node should run, against what BIRD runs.

#include <string>

#include "exporter/core/diagnosis.h"
#include "exporter/intent/diff.h"
#include "exporter/metrics/families.h"

namespace cbe::metrics {

void AddIntentFamilies(const IntentSnapshot* intent, const DiagnosisSnapshot* diagnosis,
                       Families& families) {
  Family& up = families.Add("calico_bgp_intent_up",
                            "1 if the last request to the intent service (intent.url) got this "
                            "node's sessions, else 0 (the last answer is kept).");
  Family& last_success = families.Add(
      "calico_bgp_intent_last_success_timestamp_seconds",
      "Unix time of the intent service's last answer for this node (0: none since the start).");
  Family& sessions = families.Add(
      "calico_bgp_intent_sessions",
      "Sessions Calico asks for (expected) and how BIRD differs: missing (BIRD does not run it), "
      "unexpected (no configuration asks for it), drift (another neighbour address or AS). "
      "Only while an answer is kept and every BIRD daemon answers.");
  Family& mismatch = families.Add(
      "calico_bgp_intent_session_mismatch_info",
      "A session where BIRD and Calico's configuration differ; `kind` is missing, unexpected or "
      "drift and `detail` says how. Always 1.");
  if (intent == nullptr) {
    return;
  }
  up.Add({}, intent->up ? 1 : 0);
  last_success.Add({}, intent->last_success_timestamp);
  const IntentComparison* comparison = diagnosis != nullptr ? diagnosis->intent.get() : nullptr;
  if (comparison == nullptr) {
    return;
  }
  std::size_t count[3] = {0, 0, 0};
  for (std::size_t i = 0; i < comparison->diffs.size(); ++i) {
    const intent::SessionDiff& d = comparison->diffs[i];
    ++count[static_cast<int>(d.kind)];
    const std::string& peer =
        d.kind == intent::DiffKind::kUnexpected ? d.actual_address : d.expected_address;
    mismatch.Add({{"daemon", comparison->daemons[i]},
                  {"protocol", d.protocol},
                  {"peer", peer},
                  {"kind", std::string(intent::DiffKindName(d.kind))},
                  {"detail", d.Describe()}},
                 1);
  }
  sessions.Add({{"state", "expected"}}, static_cast<double>(comparison->expected));
  for (const intent::DiffKind k :
       {intent::DiffKind::kMissing, intent::DiffKind::kUnexpected, intent::DiffKind::kDrift}) {
    sessions.Add({{"state", std::string(intent::DiffKindName(k))}},
                 static_cast<double>(count[static_cast<int>(k)]));
  }
}

}  // namespace cbe::metrics
