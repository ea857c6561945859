#pragma once

// The BGP sessions Calico renders for a node, as confd does it (confd/pkg/backends/calico:
// client.go updatePeersV1 turns v3 BGPPeers into per-node and global v1 peerings, bgp_processor.go
// turns those and the node-to-node mesh into BIRD protocols, bird{,6}.cfg.template prints them).
// Pure: a Cluster in, the sessions out; built once, then asked per node.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/resources.h"

namespace cbe::intent {

enum class PeerType { kMesh, kGlobal, kNode };
std::string_view PeerTypeName(PeerType t);  // "mesh", "global", "node"

// confd's protocol name: prefix, the address with '.' (IPv4) or ':' (IPv6) as '_', and
// "_port_<n>" when a port is set: Node_10_0_0_1_port_1790.
std::string BirdProtocolName(std::string_view prefix, const std::string& ip, std::uint16_t port);

// One `protocol bgp` block of bird.cfg (family 4) or bird6.cfg (family 6).
struct Session {
  std::string protocol;  // Mesh_10_0_0_2, Global_10_0_0_9_port_1790, Node_fd00__3
  int family = 4;
  std::string neighbor_address;
  std::uint16_t neighbor_port = 0;  // 0 = BIRD's default (179)
  std::uint32_t neighbor_as = 0;
  std::uint32_t local_as = 0;
  bool passive = false;
  bool rr_client = false;
  std::string rr_cluster_id;  // this node's, when rr_client
  PeerType peer_type = PeerType::kMesh;
  std::string source;     // the object that asks for it: BGPPeer/name or BGPConfiguration/default
  bool reverse = false;   // an automatic reverse peering of `source`
  std::string peer_node;  // the Calico node at neighbor_address, if one is
  std::string source_address;  // "" = BIRD picks
  std::string ttl_security;    // "off" or the hop count
  bool password = false;
  std::string next_hop;  // "", "keep", "self"
  int keepalive_seconds = 0;
  int graceful_restart_seconds = 0;
  std::uint32_t allow_local_as = 0;
};

// Two BGPPeers that ask for the same peering of one node: confd keeps one of them (which one
// depends on Go's map order), so the other is silently not rendered.
struct PeeringCollision {
  std::string node;
  std::string peer_ip;
  std::uint16_t port = 0;
  std::string kept;     // the source we keep (first by name)
  std::string dropped;  // the other
};

struct NodeSessions {
  std::vector<Session> sessions;  // IPv4 first, then IPv6; each sorted by protocol name
  std::vector<PeeringCollision> collisions;
  std::string error;  // e.g. the node is unknown; sessions empty then
  bool ok() const { return error.empty(); }
};

class PeeringModel {
 public:
  explicit PeeringModel(Cluster cluster);
  ~PeeringModel();
  PeeringModel(const PeeringModel&) = delete;
  PeeringModel& operator=(const PeeringModel&) = delete;

  // `with_mesh` false leaves the node-to-node mesh out (for checks that run over every node).
  NodeSessions SessionsFor(std::string_view node_name, bool with_mesh = true) const;

  const Cluster& cluster() const;
  // The cluster-wide defaults confd applies.
  std::uint32_t GlobalAs() const;
  bool MeshEnabled() const;
  // The node's AS: its own or the global one.
  std::uint32_t NodeAs(const Node& node) const;
  // Names of the nodes a selector of `peer` matches ("" selector: none); false when it does
  // not parse (the message in `error`).
  struct SelectorUse {
    std::string field;  // spec.nodeSelector or spec.peerSelector
    std::string text;
    std::string error;                 // parse error, "" when it parsed
    std::vector<std::size_t> matches;  // node indices
  };
  std::vector<SelectorUse> SelectorsOf(std::size_t peer_index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cbe::intent
