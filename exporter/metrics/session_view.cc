// Which sessions and probed peers have series of their own (metrics.sessions), and the peer
// type of each probed address.

#include <chrono>
#include <string>

#include "exporter/core/diagnosis.h"
#include "exporter/metrics/families.h"

namespace cbe::metrics {
namespace {

// The peer types in the order that decides an address with sessions of several types.
int PeerTypeRank(std::string_view peer_type) {
  using bird::PeerType;
  int rank = 0;
  for (PeerType t : {PeerType::kNodeMesh, PeerType::kNodeSpecific, PeerType::kGlobal}) {
    if (bird::PeerTypeName(t) == peer_type) {
      return rank;
    }
    ++rank;
  }
  return rank;
}

// The address the probes use: BIRD writes a link-local neighbour with its scope ("%eth0").
std::string ProbedAddress(std::string_view peer) {
  return std::string(peer.substr(0, peer.find('%')));
}

}  // namespace

SessionView::SessionView(const Snapshot& snapshot, const MetricsConfig& config) {
  if (!snapshot.diagnosis) {
    return;  // Nothing diagnosed: nothing to hide, no session to take a type from.
  }
  // "Now" as of the BIRD round the diagnosis read: the hold is counted in BIRD rounds.
  const double now = snapshot.bird ? snapshot.bird->run.last_run_timestamp : 0;
  const double keep = std::chrono::duration<double>(config.keep_recovered).count();
  const bool unhealthy_only = config.sessions == SessionSeries::kUnhealthy;
  std::set<std::string, std::less<>> shown_peers;
  std::set<std::string, std::less<>> hideable_peers;
  for (const PeerDiagnosis& p : snapshot.diagnosis->peers) {
    const std::string address = ProbedAddress(p.peer);
    auto [it, inserted] = peer_types_.emplace(address, p.peer_type.view());
    if (!inserted && PeerTypeRank(p.peer_type) < PeerTypeRank(it->second)) {
      it->second = p.peer_type.str();
    }
    const bool recent = p.state_change_timestamp && now - *p.state_change_timestamp < keep;
    if (!unhealthy_only || p.diagnosis.cause != Cause::kHealthy || recent) {
      shown_peers.insert(address);
    } else {
      hidden_sessions_.emplace(p.daemon, p.protocol);
      hideable_peers.insert(address);
    }
  }
  for (const std::string& address : hideable_peers) {
    if (!shown_peers.contains(address)) {
      hidden_peers_.insert(address);
    }
  }
}

bool SessionView::ShowSession(std::string_view daemon, std::string_view protocol) const {
  return hidden_sessions_.empty() ||
         !hidden_sessions_.contains({std::string(daemon), std::string(protocol)});
}

bool SessionView::ShowPeer(const std::string& address) const {
  return hidden_peers_.empty() || !hidden_peers_.contains(address);
}

std::string_view SessionView::PeerType(const std::string& address) const {
  const auto it = peer_types_.find(address);
  return it == peer_types_.end() ? kNoSessionPeerType : std::string_view(it->second);
}

}  // namespace cbe::metrics
