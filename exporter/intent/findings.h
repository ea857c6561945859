#pragma once

// Configuration mistakes that produce no "down" session, so nothing else alerts on them. Each
// finding names the object it is about. Pure.

#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/sessions.h"

namespace cbe::intent {

enum class FindingKind {
  kSelectorParseError,     // a BGPPeer selector does not parse: confd matches nothing
  kSelectorMatchesNoNode,  // a BGPPeer selector parses but matches no node
  kUnknownNode,            // a BGPPeer spec.node names no Node
  kDuplicateRouterId,      // two nodes with the same router ID (their IPv4 address)
  kDuplicateBgpAddress,    // two nodes with the same BGP address
  kBadNodeAddress,         // loopback, link-local, unspecified or a container bridge address
  kPeerAsMismatch,         // BGPPeer asNumber is not the AS of the Calico node at peerIP
  kDuplicatePeering,       // two BGPPeers ask for the same peering: confd renders one of them
  kNeighborRenderedTwice,  // two protocols of one node to the same neighbour address
};
std::string_view FindingKindName(FindingKind k);  // "selector-parse-error", ...

struct Finding {
  FindingKind kind;
  std::string object;  // "BGPPeer/name" or "Node/name"
  std::string message;
  bool operator==(const Finding&) const = default;
};

// Every finding of the cluster, sorted by kind, object, message. Per-node checks run over every
// node (cost: the non-mesh sessions of each node; mesh sessions are not materialised).
std::vector<Finding> FindProblems(const PeeringModel& model);

// Why an address makes a poor BGP address, or "" when it is fine.
std::string BadAddressReason(const std::string& canonical_ip);

}  // namespace cbe::intent
