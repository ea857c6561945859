#include "exporter/intent/sessions.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace cbe::intent {
namespace {

// confd's defaults when BGPConfiguration "default" leaves them out (client.go globalDefaults).
constexpr std::uint32_t kDefaultAs = 64512;

// A v1 peering as updatePeersV1 emits it (backends.BGPPeer): the peer side of a session.
struct V1Peer {
  std::string ip;  // canonical
  std::uint16_t port = 0;
  std::uint32_t as = 0;
  std::uint32_t local_as = 0;       // 0 = none
  std::string source_address_mode;  // "UseNodeIP", "None", ""
  bool keep_next_hop = false;
  std::string next_hop_mode;
  bool calico_node = false;
  int ttl_security = 0;
  std::string rr_cluster_id;
  bool password = false;
  int restart_seconds = 0;
  int keepalive_seconds = 0;
  int num_allow_local_as = 0;
  std::size_t plan = 0;  // index of the BGPPeer in name order
  bool reverse = false;
};

std::string PeeringKey(const std::string& ip, std::uint16_t port) {
  return ip + "|" + std::to_string(port);
}

// Go's net.SplitHostPort + strconv.ParseUint(port, 0, 16) as confd's parseIPPort uses them:
// "host:port" or "[v6]:port" give both; anything else is the host alone with port 0.
std::pair<std::string, std::uint16_t> ParseIpPort(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return {text, 0};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) {
      return {text, 0};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int base = 10;
  std::string_view digits = port;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;
    digits.remove_prefix(1);
  }
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v > 65535) {
    return {text, 0};
  }
  return {host, static_cast<std::uint16_t>(v)};
}

}  // namespace

std::string BirdProtocolName(std::string_view prefix, const std::string& ip, std::uint16_t port) {
  std::string name(prefix);
  name += "_";
  const char from = IsIpv6(ip) ? ':' : '.';
  for (char c : ip) {
    name += c == from ? '_' : c;
  }
  if (port > 0) {
    name += "_port_" + std::to_string(port);
  }
  return name;
}

std::string_view PeerTypeName(PeerType t) {
  switch (t) {
    case PeerType::kMesh:
      return "mesh";
    case PeerType::kGlobal:
      return "global";
    case PeerType::kNode:
      return "node";
  }
  return "?";
}

struct PeeringModel::Impl {
  // A BGPPeer with its selectors evaluated once against every node.
  struct Plan {
    const BgpPeer* peer = nullptr;
    bool global = false;    // neither node nor nodeSelector
    bool usable = true;     // selectors parse
    bool workload = false;  // localWorkloadSelector: needs live workloads, not rendered here
    std::string node_selector_error;
    std::string peer_selector_error;
    std::vector<char> local;                 // node i is a local node of the forward peering
    std::vector<std::size_t> peer_nodes;     // peerSelector matches
    std::vector<char> reverse_local;         // node i gets the reverse peering
    std::vector<std::size_t> reverse_peers;  // nodes the reverse peering points at
    // peerIP form, when parsed.
    bool has_ip = false;
    std::string ip;
    std::uint16_t port = 0;  // after the listen-port lookup
    std::uint16_t written_port = 0;
  };

  Cluster cluster;
  std::uint32_t global_as = kDefaultAs;
  bool mesh_enabled = true;
  std::uint16_t global_listen_port = 0;
  bool mesh_password = false;
  int mesh_restart_seconds = 0;
  std::unordered_map<std::string, std::uint16_t> node_listen_ports;
  std::unordered_map<std::string, std::size_t> node_index;
  std::unordered_map<std::string, std::vector<std::size_t>> nodes_by_ip;
  std::vector<Plan> plans;  // BGPPeers by name
  std::vector<V1Peer> global_peers;
  std::unordered_set<std::string> global_keys;
  std::vector<PeeringCollision> global_collisions;

  explicit Impl(Cluster c) : cluster(std::move(c)) {
    ReadConfigurations();
    for (std::size_t i = 0; i < cluster.nodes.size(); ++i) {
      const Node& n = cluster.nodes[i];
      node_index.emplace(n.name, i);
      for (const std::string* ip : {&n.ipv4, &n.ipv6}) {
        if (!ip->empty()) {
          nodes_by_ip[*ip].push_back(i);
        }
      }
    }
    std::vector<const BgpPeer*> peers;
    for (const BgpPeer& p : cluster.peers) {
      peers.push_back(&p);
    }
    std::sort(peers.begin(), peers.end(),
              [](const BgpPeer* a, const BgpPeer* b) { return a->name < b->name; });
    for (const BgpPeer* p : peers) {
      plans.push_back(MakePlan(*p));
    }
    EmitGlobalPeers();
  }

  void ReadConfigurations() {
    for (const BgpConfiguration& c : cluster.configs) {
      if (c.name == "default") {
        global_as = c.as_number.value_or(kDefaultAs);
        mesh_enabled = c.node_to_node_mesh_enabled.value_or(true);
        global_listen_port = c.listen_port;
        mesh_password = c.node_mesh_password;
        mesh_restart_seconds = c.node_mesh_max_restart_seconds.value_or(0);
      } else if (c.name.starts_with("node.") && c.listen_port != 0) {
        node_listen_ports[c.name.substr(5)] = c.listen_port;
      }
    }
  }

  std::uint32_t NodeAs(const Node& n) const { return n.as_number.value_or(global_as); }

  std::uint16_t ListenPortOf(const std::string& node) const {
    const auto it = node_listen_ports.find(node);
    return it != node_listen_ports.end() ? it->second : global_listen_port;
  }

  // Nodes whose selector matches, or an error.
  std::vector<std::size_t> Matching(const std::string& text, std::string& error) const {
    std::vector<std::size_t> out;
    SelectorParse s = ParseSelector(text);
    if (!s.ok()) {
      error = s.error;
      return out;
    }
    for (std::size_t i = 0; i < cluster.nodes.size(); ++i) {
      if (s.selector->Matches(cluster.nodes[i].labels)) {
        out.push_back(i);
      }
    }
    return out;
  }

  // client.go nodesWithIPPortAndAS, port comparison included as it is written there.
  std::vector<std::size_t> NodesWithIpPortAndAs(const std::string& ip, std::uint32_t as,
                                                std::uint16_t port) const {
    std::vector<std::size_t> out;
    const std::uint32_t want = as == 0 ? global_as : as;
    const auto it = nodes_by_ip.find(ip);
    if (it == nodes_by_ip.end()) {
      return out;
    }
    for (std::size_t i : it->second) {
      const Node& n = cluster.nodes[i];
      if (NodeAs(n) != want) {
        continue;
      }
      if (port != 0) {
        const auto np = node_listen_ports.find(n.name);
        if (np != node_listen_ports.end() && port != np->second) {
          continue;
        }
        if (global_listen_port != 0 && global_listen_port != port) {
          continue;
        }
      }
      out.push_back(i);
    }
    return out;
  }

  Plan MakePlan(const BgpPeer& p) {
    Plan plan;
    plan.peer = &p;
    plan.global = p.node.empty() && p.node_selector.empty();
    plan.workload = !p.local_workload_selector.empty();
    const std::size_t n = cluster.nodes.size();
    plan.local.assign(n, 0);
    plan.reverse_local.assign(n, 0);
    std::vector<std::size_t> node_side;  // nodes matching node / nodeSelector / all()
    if (!p.node_selector.empty()) {
      node_side = Matching(p.node_selector, plan.node_selector_error);
    } else if (!p.node.empty()) {
      if (const auto it = node_index.find(p.node); it != node_index.end()) {
        node_side.push_back(it->second);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        node_side.push_back(i);
      }
    }
    if (!p.peer_selector.empty()) {
      plan.peer_nodes = Matching(p.peer_selector, plan.peer_selector_error);
    }
    plan.usable = plan.node_selector_error.empty() && plan.peer_selector_error.empty();
    if (!plan.usable || plan.workload) {
      return plan;
    }
    if (!plan.global) {
      for (std::size_t i : node_side) {
        plan.local[i] = 1;
      }
    }
    ResolvePeerIp(plan);
    if (p.reverse_peering == "Manual") {
      return plan;
    }
    // Reverse peering: the nodes the BGPPeer points at peer back with its node side.
    std::vector<std::size_t> reverse_local;
    if (!p.peer_selector.empty()) {
      reverse_local = plan.peer_nodes;
    } else if (plan.has_ip || !p.peer_ip.empty()) {
      const auto [host, port] = ParseIpPort(p.peer_ip);
      reverse_local = NodesWithIpPortAndAs(CanonicalOrSelf(host), p.as_number, port);
    }
    for (std::size_t i : reverse_local) {
      plan.reverse_local[i] = 1;
    }
    plan.reverse_peers = std::move(node_side);
    return plan;
  }

  static std::string CanonicalOrSelf(const std::string& host) {
    std::string c = CanonicalIp(host);
    return c.empty() ? host : c;
  }

  // The peerIP form: the address, and the port (written, or the listen port of the Calico node
  // at that address and AS).
  void ResolvePeerIp(Plan& plan) const {
    const BgpPeer& p = *plan.peer;
    if (!p.peer_selector.empty() || p.peer_ip.empty()) {
      return;
    }
    const auto [host, port] = ParseIpPort(p.peer_ip);
    plan.ip = CanonicalIp(host);
    if (plan.ip.empty()) {
      return;  // confd: "PeerIP is not assigned or is malformed"
    }
    if (!p.reachable_by.empty()) {
      const std::string via = CanonicalIp(p.reachable_by);
      if (via.empty() || IsIpv6(via) != IsIpv6(plan.ip)) {
        return;  // confd skips the peer: malformed or of the other family
      }
    }
    plan.has_ip = true;
    plan.written_port = port;
    plan.port = port;
    if (port == 0) {
      const std::vector<std::size_t> nodes = NodesWithIpPortAndAs(plan.ip, p.as_number, 0);
      if (!nodes.empty()) {
        plan.port = ListenPortOf(cluster.nodes[nodes.front()].name);
      }
    }
  }

  // setPeerConfigFieldsFromV3Resource and the fields every form shares.
  static void SetCommonFields(const BgpPeer& p, V1Peer& v) {
    v.password = p.password;
    v.source_address_mode = p.source_address.empty() ? "UseNodeIP" : p.source_address;
    v.restart_seconds = p.max_restart_seconds.value_or(0);
    v.keepalive_seconds = p.keepalive_seconds.value_or(0);
    v.ttl_security = p.ttl_security.value_or(0);
    if (!p.next_hop_mode.empty()) {
      v.next_hop_mode = p.next_hop_mode;
    } else {
      v.keep_next_hop = p.keep_original_next_hop;
    }
  }

  // client.go nodeAsBGPPeers: a peering to each address of a Calico node.
  void NodeAsPeers(std::size_t node, bool v4, bool v6, std::size_t plan_index, bool reverse,
                   std::vector<V1Peer>& out) const {
    const Node& n = cluster.nodes[node];
    const BgpPeer& p = *plans[plan_index].peer;
    for (const auto& [want, ip] : {std::pair{v4, &n.ipv4}, std::pair{v6, &n.ipv6}}) {
      if (!want || ip->empty()) {
        continue;
      }
      V1Peer v;
      v.ip = *ip;
      v.port = ListenPortOf(n.name);
      v.as = NodeAs(n);
      v.rr_cluster_id = n.rr_cluster_id;
      v.plan = plan_index;
      v.reverse = reverse;
      SetCommonFields(p, v);
      out.push_back(std::move(v));
    }
  }

  // The forward peerings a BGPPeer asks for (peerSelector expanded, or its peerIP).
  std::vector<V1Peer> ForwardPeers(std::size_t plan_index) const {
    const Plan& plan = plans[plan_index];
    const BgpPeer& p = *plan.peer;
    std::vector<V1Peer> out;
    if (!p.peer_selector.empty()) {
      for (std::size_t node : plan.peer_nodes) {
        NodeAsPeers(node, true, true, plan_index, false, out);
      }
      return out;
    }
    if (!plan.has_ip) {
      return out;
    }
    V1Peer v;
    v.ip = plan.ip;
    v.port = plan.port;
    v.as = p.as_number;
    v.local_as = p.local_as_number.value_or(0);
    v.calico_node = nodes_by_ip.contains(plan.ip);
    v.num_allow_local_as = p.num_allowed_local_as.value_or(0);
    v.plan = plan_index;
    SetCommonFields(p, v);
    out.push_back(std::move(v));
    return out;
  }

  void EmitGlobalPeers() {
    std::unordered_map<std::string, std::size_t> owner;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      if (!plans[i].global || !plans[i].usable || plans[i].workload) {
        continue;
      }
      for (V1Peer& v : ForwardPeers(i)) {
        const std::string key = PeeringKey(v.ip, v.port);
        if (const auto it = owner.find(key); it != owner.end()) {
          if (it->second != i) {
            global_collisions.push_back(
                {"", v.ip, v.port, plans[it->second].peer->ref.Id(), plans[i].peer->ref.Id()});
          }
          continue;
        }
        owner.emplace(key, i);
        global_keys.insert(key);
        global_peers.push_back(std::move(v));
      }
    }
  }

  // updatePeersV1's node-specific and reverse passes, for one node.
  std::vector<V1Peer> NodePeers(std::size_t node, std::vector<PeeringCollision>& collisions) const {
    std::vector<V1Peer> out;
    std::unordered_map<std::string, std::pair<std::size_t, bool>> owner;  // key -> plan, reverse
    auto emit = [&](V1Peer v) {
      const std::string key = PeeringKey(v.ip, v.port);
      if (const auto it = owner.find(key); it != owner.end()) {
        // Two forward peerings of different BGPPeers: confd keeps whichever Go's map order
        // gives first. A reverse peering yielding to a forward one is by design.
        if (!v.reverse && !it->second.second && it->second.first != v.plan) {
          collisions.push_back({cluster.nodes[node].name, v.ip, v.port,
                                plans[it->second.first].peer->ref.Id(),
                                plans[v.plan].peer->ref.Id()});
        }
        return;
      }
      if (global_keys.contains(key)) {
        return;  // a global peering to the same address and port wins
      }
      owner.emplace(key, std::pair{v.plan, v.reverse});
      out.push_back(std::move(v));
    };
    for (std::size_t i = 0; i < plans.size(); ++i) {
      const Plan& plan = plans[i];
      if (!plan.global && plan.usable && !plan.workload && plan.local[node]) {
        for (V1Peer& v : ForwardPeers(i)) {
          emit(std::move(v));
        }
      }
    }
    for (std::size_t i = 0; i < plans.size(); ++i) {
      const Plan& plan = plans[i];
      if (!plan.usable || plan.workload || !plan.reverse_local[node]) {
        continue;
      }
      const BgpPeer& p = *plan.peer;
      const bool by_selector = !p.peer_selector.empty();
      const bool v6 = by_selector || ParseIpPort(p.peer_ip).first.find(':') != std::string::npos;
      const bool v4 = by_selector || !v6;
      std::vector<V1Peer> reverse;
      for (std::size_t peer_node : plan.reverse_peers) {
        NodeAsPeers(peer_node, v4, v6, i, true, reverse);
      }
      for (V1Peer& v : reverse) {
        emit(std::move(v));
      }
    }
    return out;
  }

  // bgp_processor.go buildPeerFromData: the BIRD protocol for one v1 peering.
  std::optional<Session> Render(const V1Peer& v, PeerType type, const std::string& node_ip,
                                std::uint32_t node_as, const std::string& cluster_id) const {
    if (v.ip == node_ip) {
      return std::nullopt;  // ourselves
    }
    Session s;
    s.protocol = BirdProtocolName(type == PeerType::kGlobal ? "Global" : "Node", v.ip, v.port);
    s.family = IsIpv6(v.ip) ? 6 : 4;
    s.neighbor_address = v.ip;
    s.neighbor_port = v.port;
    s.neighbor_as = v.as;
    s.local_as = v.local_as != 0 ? v.local_as : node_as;
    s.peer_type = type;
    s.source = plans[v.plan].peer->ref.Id();
    s.reverse = v.reverse;
    s.ttl_security = v.ttl_security > 0 ? std::to_string(v.ttl_security) : "off";
    if (v.source_address_mode == "UseNodeIP") {
      s.source_address = node_ip;
    }
    s.password = v.password;
    s.graceful_restart_seconds = v.restart_seconds;
    s.keepalive_seconds = v.keepalive_seconds;
    s.allow_local_as = static_cast<std::uint32_t>(v.num_allow_local_as);
    if (v.next_hop_mode == "Self") {
      s.next_hop = "self";
    } else if (v.next_hop_mode == "Keep" || (v.keep_next_hop && v.as != s.local_as)) {
      s.next_hop = "keep";
    }
    if (v.as == s.local_as && !cluster_id.empty() &&
        (v.rr_cluster_id.empty() || v.rr_cluster_id != cluster_id)) {
      s.rr_client = true;
      s.rr_cluster_id = cluster_id;
    }
    if (type == PeerType::kGlobal && v.calico_node && v.ip > node_ip) {
      s.passive = true;
    }
    s.peer_node = PeerNode(v.ip);
    return s;
  }

  std::string PeerNode(const std::string& ip) const {
    const auto it = nodes_by_ip.find(ip);
    return it == nodes_by_ip.end() ? "" : cluster.nodes[it->second.front()].name;
  }

  // bgp_processor.go processMeshPeers.
  void AddMesh(const Node& self, int family, std::vector<Session>& out) const {
    const std::string& self_ip = family == 4 ? self.ipv4 : self.ipv6;
    if (!self.rr_cluster_id.empty() || !mesh_enabled) {
      return;
    }
    for (const Node& n : cluster.nodes) {
      const std::string& ip = family == 4 ? n.ipv4 : n.ipv6;
      if (ip.empty() || ip == self_ip || !n.rr_cluster_id.empty()) {
        continue;
      }
      Session s;
      s.protocol = BirdProtocolName("Mesh", ip, 0);
      s.family = family;
      s.neighbor_address = ip;
      s.neighbor_port = ListenPortOf(n.name);
      s.neighbor_as = n.as_number.value_or(NodeAs(self));
      s.local_as = NodeAs(self);
      s.passive = ip > self_ip;
      s.peer_type = PeerType::kMesh;
      s.source = "BGPConfiguration/default";
      s.peer_node = n.name;
      s.source_address = self_ip;
      s.ttl_security = "off";
      s.password = mesh_password;
      s.graceful_restart_seconds = mesh_restart_seconds;
      out.push_back(std::move(s));
    }
  }

  NodeSessions SessionsFor(std::string_view name, bool with_mesh) const {
    NodeSessions r;
    const auto it = node_index.find(std::string(name));
    if (it == node_index.end()) {
      r.error = "no Node named \"" + std::string(name) + "\" in the input";
      return r;
    }
    const Node& self = cluster.nodes[it->second];
    r.collisions = global_collisions;
    const std::vector<V1Peer> node_peers = NodePeers(it->second, r.collisions);
    for (int family : {4, 6}) {
      const std::string& self_ip = family == 4 ? self.ipv4 : self.ipv6;
      if (self_ip.empty()) {
        continue;  // bird{,6}.cfg: "IPv4 disabled on this node" / "IPv6 disabled"
      }
      std::vector<Session> sessions;
      sessions.reserve((with_mesh ? cluster.nodes.size() : 0) + global_peers.size() +
                       node_peers.size());
      if (with_mesh) {
        AddMesh(self, family, sessions);
      }
      for (const auto& [peers, type] :
           {std::pair{&global_peers, PeerType::kGlobal}, std::pair{&node_peers, PeerType::kNode}}) {
        for (const V1Peer& v : *peers) {
          if (IsIpv6(v.ip) != (family == 6)) {
            continue;
          }
          if (auto s = Render(v, type, self_ip, NodeAs(self), self.rr_cluster_id)) {
            sessions.push_back(std::move(*s));
          }
        }
      }
      // Sort an index, not the (large) sessions, by protocol name as confd does.
      std::vector<std::size_t> order(sessions.size());
      for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
      }
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return sessions[a].protocol < sessions[b].protocol;
      });
      r.sessions.reserve(r.sessions.size() + order.size());
      for (std::size_t i : order) {
        r.sessions.push_back(std::move(sessions[i]));
      }
    }
    return r;
  }
};

PeeringModel::PeeringModel(Cluster cluster) : impl_(std::make_unique<Impl>(std::move(cluster))) {}
PeeringModel::~PeeringModel() = default;

NodeSessions PeeringModel::SessionsFor(std::string_view node_name, bool with_mesh) const {
  return impl_->SessionsFor(node_name, with_mesh);
}

const Cluster& PeeringModel::cluster() const { return impl_->cluster; }
std::uint32_t PeeringModel::GlobalAs() const { return impl_->global_as; }
bool PeeringModel::MeshEnabled() const { return impl_->mesh_enabled; }
std::uint32_t PeeringModel::NodeAs(const Node& node) const { return impl_->NodeAs(node); }

std::vector<PeeringModel::SelectorUse> PeeringModel::SelectorsOf(std::size_t peer_index) const {
  std::vector<SelectorUse> out;
  const BgpPeer& p = impl_->cluster.peers.at(peer_index);
  for (const auto& [field, text] : {std::pair{"spec.nodeSelector", &p.node_selector},
                                    std::pair{"spec.peerSelector", &p.peer_selector}}) {
    if (text->empty()) {
      continue;
    }
    SelectorUse u;
    u.field = field;
    u.text = *text;
    u.matches = impl_->Matching(*text, u.error);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace cbe::intent
