// The diagnosis: each session's cause, and the sessions of each daemon by cause.

#include <map>
#include <string>
#include <string_view>

#include "exporter/core/diagnosis.h"
#include "exporter/metrics/families.h"

namespace cbe::metrics {
namespace {

// Sessions per daemon and cause.
using CauseCounts = std::map<std::string, std::map<std::string_view, int>>;

void AddCounts(const CauseCounts& counts, Family& peers_by_cause) {
  for (const auto& [daemon, by_cause] : counts) {
    for (Cause c : AllCauses()) {
      const auto it = by_cause.find(CauseName(c));
      peers_by_cause.Add({{"daemon", daemon}, {"cause", std::string(CauseName(c))}},
                         it == by_cause.end() ? 0 : it->second);
    }
  }
}

}  // namespace

void AddDiagnosisFamilies(const DiagnosisSnapshot* diagnosis, const BirdSnapshot* bird,
                          Families& families) {
  Family& cause_of_peer =
      families.Add("calico_bgp_peer_diagnosis",
                   "The diagnosed cause of the BGP session's state, named by the cause label "
                   "(docs/runbook.md); always 1.");
  Family& peers_by_cause = families.Add("calico_bgp_peers", "BGP sessions by diagnosed cause.");
  if (diagnosis == nullptr) {
    return;
  }
  CauseCounts counts;
  cause_of_peer.Reserve(diagnosis->peers.size());
  for (const PeerDiagnosis& p : diagnosis->peers) {
    const std::string_view cause = CauseName(p.diagnosis.cause);
    cause_of_peer.Add({{"daemon", p.daemon},
                       {"protocol", p.protocol},
                       {"peer", p.peer},
                       {"cause", std::string(cause)}},
                      1);
    ++counts[p.daemon][cause];
  }
  if (bird != nullptr) {
    for (const DaemonSnapshot& d : bird->daemons) {
      counts[d.daemon];  // Every daemon gets its zeros.
    }
  }
  AddCounts(counts, peers_by_cause);
}

}  // namespace cbe::metrics
