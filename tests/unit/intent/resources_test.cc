// Reading Calico's resources: both forms, Lists, multi-document YAML, JSON, and clear errors for
// malformed documents.

#include "exporter/intent/resources.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

using namespace cbe::intent;

TEST_CASE("resources: v3 Node, BGPPeer, BGPConfiguration", "[unit][intent]") {
  Cluster c;
  const auto errors = AddDocuments(R"(
# calicoctl get -o yaml
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: n1
  labels: {rack: r1, rr: "true", plain: yes, quoted: "yes"}
spec:
  bgp:
    ipv4Address: 10.0.0.1/24
    ipv6Address: FD00:0:0::1/64
    asNumber: 1.10
    routeReflectorClusterID: 224.0.0.1
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec:
  peerIP: "[fd00::9]:1790"
  asNumber: 65001
  nodeSelector: rack == 'r1'
  keepaliveTime: 1m30s
  password: {secretKeyRef: {name: s, key: k}}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64513, nodeToNodeMeshEnabled: false, listenPort: 1790}
)",
                                   "a.yaml", c);
  REQUIRE(errors.empty());
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].ipv4 == "10.0.0.1");
  CHECK(c.nodes[0].ipv6 == "fd00::1");
  CHECK(c.nodes[0].as_number == 65546u);
  CHECK(c.nodes[0].rr_cluster_id == "224.0.0.1");
  CHECK(c.nodes[0].labels.at("rr") == "true");
  CHECK(c.nodes[0].labels.at("plain") == "true");  // YAML 1.1, as Go's reader sees `yes`
  CHECK(c.nodes[0].labels.at("quoted") == "yes");
  CHECK(c.nodes[0].ref.document == 1);
  REQUIRE(c.peers.size() == 1);
  CHECK(c.peers[0].peer_ip == "[fd00::9]:1790");
  CHECK(c.peers[0].keepalive_seconds == 90);
  CHECK(c.peers[0].password);
  CHECK(c.peers[0].ref.document == 2);
  REQUIRE(c.configs.size() == 1);
  CHECK(c.configs[0].listen_port == 1790);
  CHECK(c.configs[0].node_to_node_mesh_enabled == false);
}

TEST_CASE("resources: Kubernetes datastore form and List objects", "[unit][intent]") {
  Cluster c;
  const auto errors = AddDocuments(R"js({"apiVersion": "v1", "kind": "NodeList", "items": [
  {"metadata": {"name": "k1", "labels": {"rack": "r2"},
    "annotations": {"projectcalico.org/IPv4Address": "10.0.0.2/16",
                    "projectcalico.org/ASNumber": "64600",
                    "projectcalico.org/RouteReflectorClusterID": "224.0.0.2",
                    "projectcalico.org/labels": "{\"rack\": \"r1\", \"calico-only\": \"x\"}"}}},
  {"apiVersion": "crd.projectcalico.org/v1", "kind": "BGPPeer", "metadata": {"name": "p"},
   "spec": {"peerSelector": "has(rack)"}}]})js",
                                   "k.json", c);
  REQUIRE(errors.empty());
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].ipv4 == "10.0.0.2");
  CHECK(c.nodes[0].as_number == 64600u);
  CHECK(c.nodes[0].rr_cluster_id == "224.0.0.2");
  // Kubernetes labels win over the projectcalico.org/labels annotation, as in libcalico-go.
  CHECK(c.nodes[0].labels.at("rack") == "r2");
  CHECK(c.nodes[0].labels.at("calico-only") == "x");
  REQUIRE(c.peers.size() == 1);
  CHECK(c.peers[0].peer_selector == "has(rack)");
}

TEST_CASE("resources: a later document replaces the earlier one", "[unit][intent]") {
  Cluster c;
  REQUIRE(AddDocuments("kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n"
                       "spec: {peerIP: 10.0.0.1, asNumber: 1}\n",
                       "1.yaml", c)
              .empty());
  REQUIRE(AddDocuments("kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n"
                       "spec: {peerIP: 10.0.0.2, asNumber: 2}\n",
                       "2.yaml", c)
              .empty());
  REQUIRE(c.peers.size() == 1);
  CHECK(c.peers[0].peer_ip == "10.0.0.2");
}

TEST_CASE("resources: malformed documents name file, document and field", "[unit][intent]") {
  struct Bad {
    const char* text;
    const char* message;
  };
  const Bad bad[] = {
      {"kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: a}\n---\n"
       "kind: [unclosed\n",
       "f.yaml: document 2 (line "},
      {"- just\n- a list\n", "f.yaml: document 1 (line 1): expected a mapping"},
      {"apiVersion: projectcalico.org/v3\nmetadata: {name: a}\n",
       "f.yaml: document 1 (line 1): kind: missing"},
      {"kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\n"
       "spec: {asNumber: abc}\n",
       "f.yaml: document 1 (line 1): BGPPeer/p: spec.asNumber: not an AS number: \"abc\""},
      {"kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n}\n"
       "spec: {bgp: {ipv4Address: 10.0.0.300/24}}\n",
       "f.yaml: document 1 (line 1): Node/n: spec.bgp.ipv4Address: not an IPv4 address or CIDR"},
      {"kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {}\n",
       "f.yaml: document 1 (line 1): BGPPeer/: metadata.name: missing"},
      {"kind: BGPPeer\napiVersion: projectcalico.org/v2\nmetadata: {name: p}\n",
       "f.yaml: document 1 (line 1): apiVersion: \"projectcalico.org/v2\" is not"},
      {"kind: List\nitems:\n- kind: BGPPeer\n  apiVersion: crd.projectcalico.org/v1\n"
       "  metadata: {name: p}\n  spec: {ttlSecurity: 300}\n",
       "f.yaml: document 1 (line 1): items[0]: BGPPeer/p: spec.ttlSecurity: expected an integer"},
      {"{\"kind\": \"Node\", ", "f.yaml: document 1 (line "},
  };
  for (const Bad& b : bad) {
    Cluster c;
    const auto errors = AddDocuments(b.text, "f.yaml", c);
    INFO(b.text);
    REQUIRE(errors.size() == 1);
    INFO(errors[0].Format());
    CHECK(errors[0].Format().starts_with(b.message));
  }
  // The good documents around a bad one still load.
  Cluster c;
  const auto errors = AddDocuments(
      "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: a}\n---\n"
      "kind: [unclosed\n---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: b}\n",
      "f.yaml", c);
  CHECK(errors.size() == 1);
  CHECK(c.nodes.size() == 2);
}

TEST_CASE("resources: addresses and AS numbers", "[unit][intent]") {
  CHECK(CanonicalIp("10.0.0.1") == "10.0.0.1");
  CHECK(CanonicalIp("10.0.0.1/8") == "");
  CHECK(CanonicalIp("10.0.0.1/8", true) == "10.0.0.1");
  CHECK(CanonicalIp("10.0.0.1/33", true) == "");
  CHECK(CanonicalIp("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(CanonicalIp("nonsense") == "");
  CHECK(ParseAsNumber("64512") == 64512u);
  CHECK(ParseAsNumber("4294967295") == 4294967295u);
  CHECK_FALSE(ParseAsNumber("4294967296"));
  CHECK(ParseAsNumber("1.0") == 65536u);
  CHECK_FALSE(ParseAsNumber("1.65536"));
  CHECK_FALSE(ParseAsNumber(""));
}

}  // namespace
