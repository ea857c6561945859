// The diagnosis: each session's cause (the sessions by cause are in aggregate_families.cc).

#include <string>

#include "exporter/core/diagnosis.h"
#include "exporter/metrics/families.h"

namespace cbe::metrics {

void AddDiagnosisFamilies(const DiagnosisSnapshot* diagnosis, const SessionView& view,
                          Families& families) {
  Family& cause_of_peer =
      families.Add("calico_bgp_peer_diagnosis",
                   "The diagnosed cause of the BGP session's state, named by the cause label "
                   "(docs/runbook.md); always 1.");
  if (diagnosis == nullptr) {
    return;
  }
  cause_of_peer.Reserve(diagnosis->peers.size());
  for (const PeerDiagnosis& p : diagnosis->peers) {
    if (!view.ShowSession(p.daemon, p.protocol)) {
      continue;
    }
    cause_of_peer.Add({{"daemon", p.daemon.str()},
                       {"protocol", p.protocol.str()},
                       {"peer", p.peer.str()},
                       {"cause", std::string(CauseName(p.diagnosis.cause))}},
                      1);
  }
}

}  // namespace cbe::metrics
