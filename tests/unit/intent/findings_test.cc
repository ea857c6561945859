// Findings and the diff against what BIRD runs, one hand-made case each; and the `intent
// findings` command.

#include "exporter/intent/findings.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "exporter/intent/cli.h"
#include "exporter/intent/diff.h"

namespace {

using namespace cbe::intent;

std::string NodeYaml(const std::string& name, const std::string& ip, const std::string& extra = "",
                     const std::string& labels = "{}") {
  return "---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: " + name +
         ", labels: " + labels + "}\nspec:\n  bgp:\n    ipv4Address: " + ip + "/24\n" + extra;
}

std::string PeerYaml(const std::string& name, const std::string& spec) {
  return "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: " + name +
         "}\nspec: " + spec + "\n";
}

const std::string kTwoNodes =
    NodeYaml("a", "10.0.0.1", "", "{rack: r1}") + NodeYaml("b", "10.0.0.2", "", "{rack: r2}");

std::vector<Finding> FindingsOf(const std::string& yaml) {
  Cluster c;
  const auto errors = AddDocuments(yaml, "t.yaml", c);
  REQUIRE(errors.empty());
  const PeeringModel model(std::move(c));
  return FindProblems(model);
}

// The findings of one kind.
std::vector<Finding> Only(const std::vector<Finding>& all, FindingKind kind) {
  std::vector<Finding> out;
  for (const Finding& f : all) {
    if (f.kind == kind) {
      out.push_back(f);
    }
  }
  return out;
}

TEST_CASE("findings: none on a healthy cluster", "[unit][intent]") {
  CHECK(FindingsOf(kTwoNodes + PeerYaml("tor",
                                        "{nodeSelector: rack == 'r1', peerIP: 10.9.0.1, "
                                        "asNumber: 65000}"))
            .empty());
}

TEST_CASE("finding: selector matches no node", "[unit][intent]") {
  // Unquoted values are labels in Calico: 'rack == "r3"' matches nothing here.
  const auto f = Only(FindingsOf(kTwoNodes + PeerYaml("tor",
                                                      "{nodeSelector: rack == 'r3', "
                                                      "peerIP: 10.9.0.1, asNumber: 1}")),
                      FindingKind::kSelectorMatchesNoNode);
  REQUIRE(f.size() == 1);
  CHECK(f[0].object == "BGPPeer/tor");
  CHECK(f[0].message == "spec.nodeSelector \"rack == 'r3'\" matches no node");
}

TEST_CASE("finding: selector does not parse", "[unit][intent]") {
  const auto f = Only(FindingsOf(kTwoNodes + PeerYaml("tor",
                                                      "{nodeSelector: \"rack == r1\", "
                                                      "peerIP: 10.9.0.1, asNumber: 1}")),
                      FindingKind::kSelectorParseError);
  REQUIRE(f.size() == 1);
  CHECK(f[0].object == "BGPPeer/tor");
  CHECK(f[0].message.find("does not parse") != std::string::npos);
}

TEST_CASE("finding: spec.node names no node", "[unit][intent]") {
  const auto f = Only(FindingsOf(kTwoNodes + PeerYaml("p",
                                                      "{node: c, peerIP: 10.9.0.1, "
                                                      "asNumber: 1}")),
                      FindingKind::kUnknownNode);
  REQUIRE(f.size() == 1);
  CHECK(f[0].object == "BGPPeer/p");
}

TEST_CASE("finding: two nodes with the same router ID and BGP address", "[unit][intent]") {
  const auto all = FindingsOf(NodeYaml("a", "10.0.0.1") + NodeYaml("b", "10.0.0.1"));
  const auto ids = Only(all, FindingKind::kDuplicateRouterId);
  REQUIRE(ids.size() == 2);
  CHECK(ids[0].object == "Node/a");
  CHECK(ids[1].object == "Node/b");
  CHECK(ids[0].message.find("Node/b") != std::string::npos);
  CHECK(Only(all, FindingKind::kDuplicateBgpAddress).size() == 2);
  // Same IPv6 only: a duplicate address, not a router ID.
  const auto v6 = FindingsOf(NodeYaml("a", "10.0.0.1", "    ipv6Address: fd00::1\n") +
                             NodeYaml("b", "10.0.0.2", "    ipv6Address: fd00::1\n"));
  CHECK(Only(v6, FindingKind::kDuplicateBgpAddress).size() == 2);
  CHECK(Only(v6, FindingKind::kDuplicateRouterId).empty());
}

TEST_CASE("finding: node address is loopback, link-local or a container bridge", "[unit][intent]") {
  const auto f = Only(FindingsOf(NodeYaml("a", "172.17.0.1") + NodeYaml("b", "127.0.0.1") +
                                 NodeYaml("c", "169.254.1.1", "    ipv6Address: fe80::1\n") +
                                 NodeYaml("d", "10.0.0.4", "    ipv6Address: fe8::1\n")),
                      FindingKind::kBadNodeAddress);
  REQUIRE(f.size() == 4);
  CHECK(f[0].object == "Node/a");
  CHECK(f[0].message.find("docker0") != std::string::npos);
  CHECK(f[1].message.find("loopback") != std::string::npos);
  CHECK(f[2].object == "Node/c");
  CHECK(f[3].object == "Node/c");
}

TEST_CASE("finding: BGPPeer asNumber is not the AS of the node it points at", "[unit][intent]") {
  const std::string yaml = kTwoNodes + PeerYaml("to-b",
                                                "{node: a, peerIP: 10.0.0.2, "
                                                "asNumber: 65000}");
  const auto f = Only(FindingsOf(yaml), FindingKind::kPeerAsMismatch);
  REQUIRE(f.size() == 1);
  CHECK(f[0].object == "BGPPeer/to-b");
  CHECK(f[0].message.find("AS 64512") != std::string::npos);
  CHECK(Only(FindingsOf(kTwoNodes + PeerYaml("to-b",
                                             "{node: a, peerIP: 10.0.0.2, "
                                             "asNumber: 64512}")),
             FindingKind::kPeerAsMismatch)
            .empty());
}

TEST_CASE("finding: two BGPPeers ask for the same peering", "[unit][intent]") {
  const auto f = Only(FindingsOf(kTwoNodes + PeerYaml("p1", "{peerIP: 10.9.0.1, asNumber: 65000}") +
                                 PeerYaml("p2", "{peerIP: 10.9.0.1, asNumber: 65001}")),
                      FindingKind::kDuplicatePeering);
  REQUIRE(f.size() == 1);
  CHECK(f[0].object == "BGPPeer/p2");
  CHECK(f[0].message.find("BGPPeer/p1") != std::string::npos);
}

TEST_CASE("finding: a neighbour rendered twice (mesh and an explicit peer)", "[unit][intent]") {
  const auto f = Only(FindingsOf(kTwoNodes + PeerYaml("to-b",
                                                      "{node: a, peerIP: 10.0.0.2, "
                                                      "asNumber: 64512}")),
                      FindingKind::kNeighborRenderedTwice);
  // b peers back automatically (reverse peering), so both nodes render the neighbour twice.
  REQUIRE(f.size() == 2);
  CHECK(f[0].object == "Node/a");
  CHECK(f[0].message == "neighbour 10.0.0.2 is rendered 2 times: Mesh_10_0_0_2, Node_10_0_0_2");
  CHECK(f[1].object == "Node/b");
  CHECK(f[1].message == "neighbour 10.0.0.1 is rendered 2 times: Mesh_10_0_0_1, Node_10_0_0_1");
}

TEST_CASE("finding: two ports to one neighbour are two sessions, not a duplicate",
          "[unit][intent]") {
  CHECK(Only(FindingsOf(kTwoNodes + PeerYaml("p150", "{peerIP: '10.9.0.1:150', asNumber: 1}") +
                        PeerYaml("p166", "{peerIP: '10.9.0.1:166', asNumber: 1}")),
             FindingKind::kNeighborRenderedTwice)
            .empty());
}

TEST_CASE("sessions: passive rule, port suffix, local AS, reverse peering", "[unit][intent]") {
  Cluster c;
  REQUIRE(AddDocuments(kTwoNodes +
                           NodeYaml("rr", "10.0.0.9", "    routeReflectorClusterID: 224.0.0.1\n",
                                    "{rr: 'yes'}") +
                           PeerYaml("to-rr", "{nodeSelector: '!has(rr)', peerSelector: has(rr)}") +
                           PeerYaml("ext",
                                    "{node: a, peerIP: '10.8.0.1:1790', asNumber: 65000, "
                                    "localASNumber: 65100}"),
                       "t.yaml", c)
              .empty());
  const PeeringModel model(std::move(c));
  const NodeSessions a = model.SessionsFor("a");
  REQUIRE(a.ok());
  REQUIRE(a.sessions.size() == 3);
  CHECK(a.sessions[0].protocol == "Mesh_10_0_0_2");
  CHECK(a.sessions[0].passive);  // 10.0.0.2 > 10.0.0.1: b connects to a
  CHECK(a.sessions[1].protocol == "Node_10_0_0_9");
  CHECK(a.sessions[1].source == "BGPPeer/to-rr");
  CHECK(a.sessions[2].protocol == "Node_10_8_0_1_port_1790");
  CHECK(a.sessions[2].local_as == 65100);
  CHECK(a.sessions[2].neighbor_port == 1790);
  const NodeSessions rr = model.SessionsFor("rr");
  REQUIRE(rr.sessions.size() == 2);  // no mesh on a route reflector; reverse peerings to clients
  CHECK(rr.sessions[0].protocol == "Node_10_0_0_1");
  CHECK(rr.sessions[0].rr_client);
  CHECK(rr.sessions[0].reverse);
  CHECK(model.SessionsFor("nope").error == "no Node named \"nope\" in the input");
}

std::vector<Session> Expected() {
  Session s;
  s.protocol = "Mesh_10_0_0_2";
  s.neighbor_address = "10.0.0.2";
  s.neighbor_as = 64512;
  Session t = s;
  t.protocol = "Node_10_9_0_1";
  t.neighbor_address = "10.9.0.1";
  t.neighbor_as = 65000;
  t.source = "BGPPeer/tor";
  return {s, t};
}

TEST_CASE("diff: missing, unexpected, drift", "[unit][intent]") {
  CHECK(DiffSessions(Expected(),
                     {{"Mesh_10_0_0_2", "10.0.0.2", 64512}, {"Node_10_9_0_1", "10.9.0.1", 65000}})
            .empty());
  const auto missing = DiffSessions(Expected(), {{"Mesh_10_0_0_2", "10.0.0.2", 64512}});
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].kind == DiffKind::kMissing);
  CHECK(missing[0].protocol == "Node_10_9_0_1");
  CHECK(missing[0].Describe() ==
        "Node_10_9_0_1: expected (10.9.0.1 AS 65000, from BGPPeer/tor) but BIRD does not run it");
  const auto unexpected = DiffSessions(Expected(), {{"Mesh_10_0_0_2", "10.0.0.2", 64512},
                                                    {"Node_10_9_0_1", "10.9.0.1", 65000},
                                                    {"Node_10_9_0_7", "10.9.0.7", 65000}});
  REQUIRE(unexpected.size() == 1);
  CHECK(unexpected[0].kind == DiffKind::kUnexpected);
  CHECK(unexpected[0].actual_address == "10.9.0.7");
  const auto drift = DiffSessions(
      Expected(), {{"Mesh_10_0_0_2", "10.0.0.2", 64512}, {"Node_10_9_0_1", "10.9.0.1", 65001}});
  REQUIRE(drift.size() == 1);
  CHECK(drift[0].kind == DiffKind::kDrift);
  CHECK(drift[0].actual_as == 65001);
  CHECK(drift[0].expected_as == 65000);
  CHECK(DiffKindName(drift[0].kind) == "drift");
}

int Run(const std::vector<std::string>& args, const std::string& stdin_text, std::string& out,
        std::string& err) {
  std::istringstream in(stdin_text);
  std::ostringstream o;
  std::ostringstream e;
  const int rc = RunIntentCommand(args, in, o, e);
  out = o.str();
  err = e.str();
  return rc;
}

TEST_CASE("intent findings: exit 1 with findings, 0 without, 2 on bad input", "[unit][intent]") {
  std::string out;
  std::string err;
  CHECK(Run({"findings", "-"}, kTwoNodes, out, err) == 0);
  CHECK(out == "no findings\n");
  CHECK(Run({"findings", "--output", "json", "-"}, NodeYaml("a", "172.17.0.1"), out, err) == 1);
  CHECK(out.find("\"kind\": \"bad-node-address\"") != std::string::npos);
  CHECK(out.find("\"object\": \"Node/a\"") != std::string::npos);
  CHECK(Run({"findings", "-"}, "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {}\n", out,
            err) == 2);
  CHECK(err.find("<stdin>: document 1 (line 1): Node/: metadata.name: missing") !=
        std::string::npos);
  CHECK(Run({"findings", "/nonexistent/x.yaml"}, "", out, err) == 2);
  CHECK(err.find("/nonexistent/x.yaml: cannot open") != std::string::npos);
  CHECK(Run({"sessions", "-"}, kTwoNodes, out, err) == 2);
  CHECK(err.find("sessions needs --node NAME") != std::string::npos);
  CHECK(Run({"sessions", "--node=a", "--output", "yaml", "-"}, kTwoNodes, out, err) == 2);
  CHECK(Run({"frobnicate"}, "", out, err) == 2);
  CHECK(Run({"--help"}, "", out, err) == 0);
  CHECK(out.find("usage:") == 0);
}

}  // namespace
