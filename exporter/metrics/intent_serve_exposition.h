#pragma once

// The exposition of `intent serve`: the Kubernetes reader's sync state (per resource: last sync,
// objects, watch restarts by reason, requests by verb, errors by kind), the engine's state, and
// the cluster findings as calico_bgp_config_problem{kind, object}. Small (no per-node series), so
// it is rendered on every scrape. Library cbe_intent_metrics: exporter/metrics stays the only
// layer that knows prometheus-cpp.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/findings.h"
#include "exporter/kube/stats.h"
#include "exporter/kube/store.h"

namespace cbe {

struct IntentServeStatus {
  kube::ReaderStats reader;
  bool serving = false;         // the first complete view was computed: answers are served
  std::size_t nodes = 0;        // Calico nodes in the served model
  double last_change_unix = 0;  // when the served model last changed
  double model_seconds = 0;     // the engine's last model build
  double findings_seconds = 0;  // the engine's last pass over the findings
  std::vector<intent::Finding> findings;
  std::vector<kube::RejectedObject> rejected;  // objects the engine could not read
};

// The `kind` label of calico_bgp_config_problem for an engine finding: its name with '_' for
// '-' (selector_matches_no_node, ...). Objects the engine cannot read are "invalid_object".
std::string ProblemKind(intent::FindingKind kind);
inline constexpr std::string_view kInvalidObjectProblem = "invalid_object";

std::string RenderIntentServeExposition(const IntentServeStatus& status);

}  // namespace cbe
