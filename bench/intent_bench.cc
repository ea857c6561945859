// The intent engine at scale (issue 15): 5,000 nodes and 20 BGPPeers, read from YAML, then the
// session set of every node, the findings, and the node-to-node mesh of one node at two sizes
// (linear in nodes). Prints wall times; not run by the tests.
//
//   cmake --build build --target intent_bench && build/exporter/intent/intent_bench

#include <chrono>
#include <cstdio>
#include <string>

#include "exporter/intent/findings.h"
#include "exporter/intent/resources.h"
#include "exporter/intent/sessions.h"

namespace {

using Clock = std::chrono::steady_clock;
using cbe::intent::Cluster;
using cbe::intent::PeeringModel;

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// Nodes in 50 racks, the first 10 route reflectors; BGPPeers: RR clients, RR full mesh, and one
// top-of-rack router for each of 18 racks.
std::string ClusterYaml(int nodes, bool mesh) {
  std::string y =
      "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n"
      "  name: default\nspec:\n  asNumber: 64512\n  nodeToNodeMeshEnabled: " +
      std::string(mesh ? "true" : "false") + "\n";
  for (int i = 0; i < nodes; ++i) {
    const bool rr = i < 10;
    y += "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-" +
         std::to_string(i) + "\n  labels:\n    rack: r" + std::to_string(i % 50) + "\n" +
         (rr ? "    rr: \"true\"\n" : "") + "spec:\n  bgp:\n    ipv4Address: 10." +
         std::to_string(i / 65536 + 1) + "." + std::to_string(i / 256 % 256) + "." +
         std::to_string(i % 256) + "/8\n" + (rr ? "    routeReflectorClusterID: 224.0.0.1\n" : "");
  }
  y += "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rr-clients\n"
       "spec:\n  nodeSelector: \"!has(rr)\"\n  peerSelector: has(rr)\n";
  y += "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rr-mesh\n"
       "spec:\n  nodeSelector: has(rr)\n  peerSelector: has(rr)\n";
  for (int k = 0; k < 18; ++k) {
    y += "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor-" +
         std::to_string(k) + "\nspec:\n  nodeSelector: rack == 'r" + std::to_string(k) +
         "'\n  peerIP: 192.168." + std::to_string(k) +
         ".1\n  asNumber: " + std::to_string(65000 + k) + "\n";
  }
  return y;
}

Cluster Load(const std::string& yaml) {
  Cluster c;
  const auto errors = cbe::intent::AddDocuments(yaml, "bench.yaml", c);
  if (!errors.empty()) {
    std::fprintf(stderr, "%s\n", errors.front().Format().c_str());
    std::exit(1);
  }
  return c;
}

double MeshOneNode(int nodes, std::size_t& sessions) {
  const PeeringModel model(Load(ClusterYaml(nodes, true)));
  const auto start = Clock::now();
  const int rounds = 100;
  for (int r = 0; r < rounds; ++r) {
    sessions = model.SessionsFor("node-" + std::to_string(nodes / 2)).sessions.size() +
               model.SessionsFor("node-" + std::to_string(nodes - 1)).sessions.size();
  }
  sessions /= 2;
  return Ms(start) / (2 * rounds);
}

}  // namespace

int main() {
  const int kNodes = 5000;
  const std::string yaml = ClusterYaml(kNodes, false);
  auto start = Clock::now();
  Cluster cluster = Load(yaml);
  const double load_ms = Ms(start);

  start = Clock::now();
  const PeeringModel model(std::move(cluster));
  const double build_ms = Ms(start);

  start = Clock::now();
  std::size_t total = 0;
  for (const auto& n : model.cluster().nodes) {
    total += model.SessionsFor(n.name).sessions.size();
  }
  const double all_ms = Ms(start);

  start = Clock::now();
  const auto findings = cbe::intent::FindProblems(model);
  const double findings_ms = Ms(start);

  std::printf("intent_bench: %d nodes, %zu BGPPeers, mesh off (route reflectors)\n", kNodes,
              model.cluster().peers.size());
  std::printf("  read YAML (%zu bytes)            %8.1f ms\n", yaml.size(), load_ms);
  std::printf("  build model (selectors)          %8.1f ms\n", build_ms);
  std::printf("  sessions of all %d nodes       %8.1f ms  (%zu sessions)\n", kNodes, all_ms, total);
  std::printf("  findings over the cluster        %8.1f ms  (%zu findings)\n", findings_ms,
              findings.size());
  std::printf("  model + all nodes' sessions      %8.1f ms  (goal < 1000 ms)\n", build_ms + all_ms);

  std::printf("mesh on: sessions of one node (linear in nodes: time per node stays flat)\n");
  for (int nodes : {1250, 2500, 5000, 10000}) {
    std::size_t sessions = 0;
    const double ms = MeshOneNode(nodes, sessions);
    std::printf("  %5d nodes                      %8.2f ms  (%zu sessions, %.0f ns per node)\n",
                nodes, ms, sessions, ms * 1e6 / nodes);
  }
  return 0;
}
