#include "exporter/intent/findings.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "exporter/base/node_address.h"

namespace cbe::intent {
namespace {

std::string PortSuffix(std::uint16_t port) {
  return port == 0 ? "" : " port " + std::to_string(port);
}

class Collector {
 public:
  void Add(FindingKind kind, std::string object, std::string message) {
    Finding f{kind, std::move(object), std::move(message)};
    if (seen_.insert(std::tuple(static_cast<int>(f.kind), f.object, f.message)).second) {
      out_.push_back(std::move(f));
    }
  }
  std::vector<Finding> Take() {
    std::sort(out_.begin(), out_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.kind, a.object, a.message) < std::tie(b.kind, b.object, b.message);
    });
    return std::move(out_);
  }

 private:
  std::vector<Finding> out_;
  std::set<std::tuple<int, std::string, std::string>> seen_;
};

void CheckPeers(const PeeringModel& model, Collector& c) {
  const Cluster& cluster = model.cluster();
  std::unordered_map<std::string, const Node*> node_by_name;
  std::unordered_map<std::string, const Node*> node_by_ip;
  for (const Node& n : cluster.nodes) {
    node_by_name.emplace(n.name, &n);
    for (const std::string* ip : {&n.ipv4, &n.ipv6}) {
      if (!ip->empty()) {
        node_by_ip.emplace(*ip, &n);
      }
    }
  }
  for (std::size_t i = 0; i < cluster.peers.size(); ++i) {
    const BgpPeer& p = cluster.peers[i];
    const std::string id = p.ref.Id();
    for (const PeeringModel::SelectorUse& u : model.SelectorsOf(i)) {
      if (!u.error.empty()) {
        c.Add(FindingKind::kSelectorParseError, id,
              u.field + " \"" + u.text + "\" does not parse (" + u.error +
                  "): confd matches no node with it");
      } else if (u.matches.empty()) {
        c.Add(FindingKind::kSelectorMatchesNoNode, id,
              u.field + " \"" + u.text + "\" matches no node");
      }
    }
    if (!p.node.empty() && !node_by_name.contains(p.node)) {
      c.Add(FindingKind::kUnknownNode, id, "spec.node \"" + p.node + "\" names no Node");
    }
    if (p.peer_ip.empty() || p.as_number == 0) {
      continue;
    }
    std::string host = p.peer_ip;
    if (!host.empty() && host[0] == '[') {
      host = host.substr(1, host.find(']') - 1);
    } else if (std::count(host.begin(), host.end(), ':') == 1) {
      host = host.substr(0, host.find(':'));
    }
    const auto it = node_by_ip.find(CanonicalIp(host));
    if (it != node_by_ip.end() && model.NodeAs(*it->second) != p.as_number) {
      c.Add(FindingKind::kPeerAsMismatch, id,
            "spec.asNumber " + std::to_string(p.as_number) + " but " + p.peer_ip + " is Node/" +
                it->second->name + " with AS " + std::to_string(model.NodeAs(*it->second)) +
                ": BIRD refuses the session (\"Bad peer AS\")");
    }
  }
}

void CheckNodeAddresses(const Cluster& cluster, Collector& c) {
  std::map<std::string, std::vector<const Node*>> by_ip;
  for (const Node& n : cluster.nodes) {
    for (const std::string* ip : {&n.ipv4, &n.ipv6}) {
      if (ip->empty()) {
        continue;
      }
      by_ip[*ip].push_back(&n);
      if (std::string why = SuspiciousNodeAddress(*ip); !why.empty()) {
        c.Add(FindingKind::kBadNodeAddress, n.ref.Id(), "BGP address " + *ip + " is " + why);
      }
    }
  }
  for (const auto& [ip, nodes] : by_ip) {
    if (nodes.size() < 2) {
      continue;
    }
    for (const Node* n : nodes) {
      std::string others;
      for (const Node* o : nodes) {
        if (o != n) {
          others += (others.empty() ? "Node/" : ", Node/") + o->name;
        }
      }
      c.Add(FindingKind::kDuplicateBgpAddress, n->ref.Id(),
            "BGP address " + ip + " is also the address of " + others);
      if (!IsIpv6(ip)) {
        c.Add(FindingKind::kDuplicateRouterId, n->ref.Id(),
              "router ID " + ip +
                  " (its IPv4 address, Calico's default router ID) is also the "
                  "router ID of " +
                  others);
      }
    }
  }
}

// Per node: BGPPeers that collide, and neighbours that get two protocols.
void CheckNodes(const PeeringModel& model, Collector& c) {
  const Cluster& cluster = model.cluster();
  std::unordered_map<std::string, const Node*> mesh_member;  // non-RR nodes by address
  for (const Node& n : cluster.nodes) {
    if (n.rr_cluster_id.empty()) {
      for (const std::string* ip : {&n.ipv4, &n.ipv6}) {
        if (!ip->empty()) {
          mesh_member.emplace(*ip, &n);
        }
      }
    }
  }
  for (const Node& self : cluster.nodes) {
    const NodeSessions ns = model.SessionsFor(self.name, /*with_mesh=*/false);
    for (const PeeringCollision& col : ns.collisions) {
      const std::string where = col.node.empty() ? "every node" : "Node/" + col.node;
      c.Add(FindingKind::kDuplicatePeering, col.dropped,
            "asks for the same peering as " + col.kept + " (" + col.peer_ip + PortSuffix(col.port) +
                " on " + where + "): confd renders only one of them, which one is not defined");
    }
    const bool in_mesh = model.MeshEnabled() && self.rr_cluster_id.empty();
    // Same address and port (two ports are two sessions BIRD can run side by side).
    std::map<std::tuple<int, std::string, std::uint16_t>, std::vector<std::string>> by_neighbor;
    for (const Session& s : ns.sessions) {
      by_neighbor[{s.family, s.neighbor_address, s.neighbor_port}].push_back(s.protocol);
      const std::string& self_ip = s.family == 4 ? self.ipv4 : self.ipv6;
      if (in_mesh && s.neighbor_address != self_ip) {
        if (const auto it = mesh_member.find(s.neighbor_address); it != mesh_member.end()) {
          by_neighbor[{s.family, s.neighbor_address, s.neighbor_port}].push_back(
              BirdProtocolName("Mesh", s.neighbor_address, 0));
        }
      }
    }
    for (auto& [key, protocols] : by_neighbor) {
      std::sort(protocols.begin(), protocols.end());
      protocols.erase(std::unique(protocols.begin(), protocols.end()), protocols.end());
      if (protocols.size() < 2) {
        continue;
      }
      std::string list;
      for (const std::string& p : protocols) {
        list += (list.empty() ? "" : ", ") + p;
      }
      c.Add(FindingKind::kNeighborRenderedTwice, self.ref.Id(),
            "neighbour " + std::get<1>(key) + PortSuffix(std::get<2>(key)) + " is rendered " +
                std::to_string(protocols.size()) + " times: " + list);
    }
  }
}

}  // namespace

std::string_view FindingKindName(FindingKind k) {
  switch (k) {
    case FindingKind::kSelectorParseError:
      return "selector-parse-error";
    case FindingKind::kSelectorMatchesNoNode:
      return "selector-matches-no-node";
    case FindingKind::kUnknownNode:
      return "unknown-node";
    case FindingKind::kDuplicateRouterId:
      return "duplicate-router-id";
    case FindingKind::kDuplicateBgpAddress:
      return "duplicate-bgp-address";
    case FindingKind::kBadNodeAddress:
      return "bad-node-address";
    case FindingKind::kPeerAsMismatch:
      return "peer-as-mismatch";
    case FindingKind::kDuplicatePeering:
      return "duplicate-peering";
    case FindingKind::kNeighborRenderedTwice:
      return "neighbor-rendered-twice";
  }
  return "?";
}

std::vector<Finding> FindProblems(const PeeringModel& model) {
  Collector c;
  CheckPeers(model, c);
  CheckNodeAddresses(model.cluster(), c);
  CheckNodes(model, c);
  return c.Take();
}

}  // namespace cbe::intent
