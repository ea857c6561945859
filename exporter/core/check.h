#pragma once

// `calico-bgp-exporter check`: one round of everything, now, printed for a person (like
// `calicoctl node status` plus cause and next step) or as JSON for scripts.

#include <ostream>
#include <string>

#include "exporter/config/config.h"
#include "exporter/core/snapshot.h"

namespace cbe {

enum class CheckOutput { kTable, kJson };

// Exit codes: every session healthy, some not (or BIRD down).
inline constexpr int kCheckHealthy = 0;
inline constexpr int kCheckUnhealthy = 1;

// Runs one BIRD round and one round of each enabled probe (concurrently), diagnoses, prints.
int RunCheck(const Config& config, CheckOutput output, std::ostream& out);

// Pure formatting of a diagnosed snapshot.
std::string FormatCheckTable(const Snapshot& snapshot, double now_unix);
std::string FormatCheckJson(const Snapshot& snapshot, double now_unix);
bool AllHealthy(const Snapshot& snapshot);

// `check --list-causes`: every cause the diagnosis can name, with its runbook anchor
// (docs/runbook.md `## cause-NAME`) and next step. The deploy tests compare the alert rules,
// the runbook and the dashboards with this list.
std::string FormatCauseList(CheckOutput output);

}  // namespace cbe
