// The engine service of `intent serve` (exporter/intent_serve/service.h) with a view given by
// the test, its answers and ETags, its exposition (golden file, linted by promtool), and the
// HTTP helpers of its pages (If-None-Match, the sessions path). No network, no sleep.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "exporter/intent_serve/service.h"
#include "exporter/web/intent_pages.h"
#include "exporter/web/web_pages.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/manual_clock.h"

namespace cbe {
namespace {

using testing::ManualClock;
using testing::WaitFor;

constexpr const char* kCluster = R"Y(
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {rr: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.3/24}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-clients}
spec: {nodeSelector: "!has(rr)", peerSelector: has(rr)}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: lost}
spec: {nodeSelector: "rack == 'nowhere'", peerIP: 192.168.9.9, asNumber: 65009}
)Y";

kube::ClusterView View(const std::string& extra = "") {
  kube::ClusterView view;
  REQUIRE(intent::AddDocuments(std::string(kCluster) + extra, "test.yaml", view.cluster).empty());
  return view;
}

struct Fixture {
  Fixture()
      : service(
            &clock, [this] { return view; },
            [this] {
              kube::ReaderStats s;
              s.mode = "kubernetes-datastore";
              kube::ResourceStats r;
              r.resource = "nodes";
              r.api_version = "v1";
              r.listed = view.has_value();
              s.resources.push_back(r);
              return s;
            }) {
    service.Start();
  }
  void Publish(std::optional<kube::ClusterView> v) {
    const std::uint64_t before = service.generation();
    view = std::move(v);
    service.Changed();
    REQUIRE(WaitFor([&] { return service.generation() > before; }));
  }
  ManualClock clock;
  std::optional<kube::ClusterView> view;
  IntentService service;
};

TEST_CASE("intent service: 503 before the first view, then answers; 404 for unknown nodes",
          "[unit][intent]") {
  Fixture f;
  PageReply r = f.service.NodeSessions("n1");
  CHECK(r.status == 503);
  CHECK(r.body == "{\"error\":\"not synced yet: waiting for the first LIST of v1 nodes\"}\n");
  CHECK(f.service.Findings().status == 503);
  CHECK(f.service.Health().status == 200);

  f.Publish(View());
  r = f.service.NodeSessions("n1");
  REQUIRE(r.status == 200);
  const nlohmann::json doc = nlohmann::json::parse(r.body);
  CHECK(doc["node"] == "n1");
  REQUIRE(doc["sessions"].size() == 1);
  CHECK(doc["sessions"][0]["protocol"] == "Node_10_0_0_1");
  CHECK(doc["sessions"][0]["source"] == "BGPPeer/rr-clients");
  CHECK(r.etag == EntityTag(r.body));
  CHECK(f.service.NodeSessions("nope").status == 404);
  CHECK(f.service.NodeSessions("nope").body ==
        "{\"error\":\"no Calico node named \\\"nope\\\"\"}\n");
  REQUIRE(WaitFor([&] { return f.service.Findings().status == 200; }));
  CHECK(f.service.Findings().body.find("selector-matches-no-node") != std::string::npos);
}

TEST_CASE("intent service: ETags follow the content, not the model", "[unit][intent]") {
  Fixture f;
  f.Publish(View());
  const PageReply n1 = f.service.NodeSessions("n1");
  const PageReply rr1 = f.service.NodeSessions("rr1");
  // A node joins: the route reflector gets a session more, n1 keeps its answer and tag.
  f.Publish(View(R"(---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n3}
spec: {bgp: {ipv4Address: 10.0.0.4/24}}
)"));
  CHECK(f.service.NodeSessions("n1").etag == n1.etag);
  CHECK(f.service.NodeSessions("n1").body == n1.body);
  CHECK(f.service.NodeSessions("rr1").etag != rr1.etag);
  CHECK(f.service.NodeSessions("n3").status == 200);
  CHECK(EntityTag("") == "\"cbf29ce484222325\"");  // FNV-1a 64 of nothing: its offset basis
}

TEST_CASE("intent service: the exposition (golden, promtool-linted)", "[unit][intent]") {
  Fixture f;
  kube::ClusterView v = View();
  v.rejected.push_back({"BGPPeer/bad", "BGPPeer/bad: spec.asNumber: not an AS number: \"x\""});
  f.Publish(v);
  REQUIRE(WaitFor([&] { return f.service.Findings().status == 200; }));
  IntentServeStatus s;
  s.serving = true;
  s.nodes = 3;
  s.last_change_unix = 1795650000;
  s.model_seconds = 0.002;
  s.findings_seconds = 0.001;
  s.findings = intent::FindProblems(intent::PeeringModel(View().cluster));
  s.rejected = v.rejected;
  s.reader.mode = "kubernetes-datastore";
  s.reader.synced = true;
  s.reader.discovery_requests = 2;
  for (const char* r : {"nodes", "bgppeers", "bgpconfigurations"}) {
    kube::ResourceStats rs;
    rs.resource = r;
    rs.api_version = std::string(r) == "nodes" ? "v1" : "crd.projectcalico.org/v1";
    rs.listed = rs.watching = true;
    rs.last_sync_unix = 1795650001;
    rs.objects = 3;
    rs.list_requests = 1;
    rs.watch_requests = 2;
    rs.watch_restarts[0] = 1;
    rs.errors[static_cast<int>(kube::ErrorKind::kExpired)] = 1;
    s.reader.resources.push_back(rs);
  }
  std::string text = RenderIntentServeExposition(s);
  text.erase(0, text.find("# HELP calico_bgp_intent_synced"));  // build_info varies
  const std::string path = std::string(CBE_FIXTURES_DIR) + "/golden/intent_serve.prom";
  if (std::getenv("CBE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << text;
  }
  CHECK(text == testing::ReadFixture("golden/intent_serve.prom"));
  CHECK(text.find("calico_bgp_config_problem{kind=\"selector_matches_no_node\",object=\"BGPPeer/"
                  "lost\"} 1") != std::string::npos);
  CHECK(text.find("calico_bgp_config_problem{kind=\"invalid_object\",object=\"BGPPeer/bad\"} 1") !=
        std::string::npos);
  // The service renders the same families from its own state.
  const std::string served = f.service.Exposition();
  CHECK(served.find("calico_bgp_intent_synced 1") != std::string::npos);
  CHECK(served.find("calico_bgp_intent_nodes 3") != std::string::npos);
  CHECK(served.find("kind=\"invalid_object\",object=\"BGPPeer/bad\"") != std::string::npos);
}

TEST_CASE("If-None-Match: lists, weak tags, *", "[unit][web]") {
  const std::string tag = "\"0123456789abcdef\"";
  CHECK(IfNoneMatchMatches("\"0123456789abcdef\"", tag));
  CHECK(IfNoneMatchMatches("W/\"0123456789abcdef\"", tag));
  CHECK(IfNoneMatchMatches("\"x\", \"0123456789abcdef\"", tag));
  CHECK(IfNoneMatchMatches(" * ", tag));
  CHECK_FALSE(IfNoneMatchMatches(nullptr, tag));
  CHECK_FALSE(IfNoneMatchMatches("", tag));
  CHECK_FALSE(IfNoneMatchMatches("\"0123456789abcde\"", tag));
  CHECK_FALSE(IfNoneMatchMatches("0123456789abcdef", tag));
}

TEST_CASE("the sessions path names one node", "[unit][web]") {
  CHECK(SessionsPathNode("/v1/nodes/kube-master/sessions") == "kube-master");
  CHECK(SessionsPathNode("/v1/nodes//sessions").empty());
  CHECK(SessionsPathNode("/v1/nodes/a/b/sessions").empty());
  CHECK(SessionsPathNode("/v1/nodes/a/session").empty());
  CHECK(SessionsPathNode("/v1/nodes/sessions").empty());
  CHECK(SessionsPathNode("/metrics").empty());
}

}  // namespace
}  // namespace cbe
