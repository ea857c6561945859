// `calico-bgp-exporter intent serve` against the Kubernetes API test server
// (fake_apiserver.py): the real binary, over TLS with a test CA and a bearer token, reading
// objects converted from confd's own suite. Every wait polls with a deadline; processes and
// files are cleaned up when an assertion fails. No root needed.

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tests/kube/kube_support.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNode = "kube-master";  // the node confd renders its suite for

// Everything a test needs: a directory, certificates, the API server and `intent serve`.
struct Env {
  explicit Env(FakeApiServer::Options options, std::vector<std::string> args = {},
               bool client_cert = false)
      : pki(dir.path()), api(pki, dir.path(), std::move(options)) {
    kubeconfig = WriteKubeconfig(dir.path(), pki, api.url(), client_cert);
    serve = std::make_unique<IntentServe>(dir.path(), kubeconfig, args);
  }
  TempDir dir;
  TestPki pki;
  FakeApiServer api;
  std::string kubeconfig;
  std::unique_ptr<IntentServe> serve;

  Http Sessions(const std::string& node = kNode,
                const std::vector<std::string>& headers = {}) const {
    return serve->Get("/v1/nodes/" + node + "/sessions", headers);
  }
  // The served sessions of `node` (null unless 200).
  Json SessionList(const std::string& node = kNode) const {
    const Http r = Sessions(node);
    return r.status == 200 ? Json::parse(r.body)["sessions"] : Json();
  }
  bool WaitSynced(std::chrono::milliseconds deadline = 15s) const {
    return Eventually(deadline, [&] { return serve->Metric("calico_bgp_intent_synced") == 1.0; });
  }
  bool WaitWatching(std::chrono::milliseconds deadline = 10s) {
    return Eventually(deadline, [&] {
      const Json s = api.Stats()["open_watches"];
      return s.value(kNodes, 0) > 0 && s.value(kPeers, 0) > 0 && s.value(kConfigs, 0) > 0;
    });
  }
  int Lists() {
    const Json r = api.Stats()["requests"];
    return r.value(std::string("list ") + kNodes, 0) + r.value(std::string("list ") + kPeers, 0) +
           r.value(std::string("list ") + kConfigs, 0);
  }
};

std::vector<std::string> Protocols(const Json& sessions) {
  std::vector<std::string> out;
  for (const Json& s : sessions.is_array() ? sessions : Json::array()) {
    out.push_back(s["protocol"]);
  }
  return out;
}

bool Has(const Json& sessions, const std::string& protocol) {
  const std::vector<std::string> p = Protocols(sessions);
  return std::find(p.begin(), p.end(), protocol) != p.end();
}

Json Node(const std::string& name, const std::string& ipv4, Json labels = Json::object()) {
  return {{"metadata",
           {{"name", name},
            {"labels", std::move(labels)},
            {"annotations", {{"projectcalico.org/IPv4Address", ipv4}}}}},
          {"status", {{"nodeInfo", {{"kubeletVersion", "v1.32.0"}}}}}};
}

Json Peer(const std::string& name, const std::string& ip, int as) {
  return {{"metadata", {{"name", name}}}, {"spec", {{"peerIP", ip}, {"asNumber", as}}}};
}

// A small mesh: kube-master and kube-node-1, AS 64512.
Json MeshSeed() {
  return {{kNodes,
           {Node(kNode, "10.192.0.2/16", {{"rr", "true"}}), Node("kube-node-1", "10.192.0.3/16")}},
          {kPeers, Json::array()},
          {kConfigs, {{{"metadata", {{"name", "default"}}}, {"spec", {{"asNumber", 64512}}}}}}};
}

TEST_CASE("converges on every case of confd's suite, following each through watch events",
          "[integration][kube]") {
  const std::vector<ConfdCase> cases = ConfdCases();
  REQUIRE(cases.size() >= 60);
  Env env({.seed = CaseObjects(cases.front(), false)}, {"--kube.page-size=2"});
  REQUIRE(env.WaitSynced());
  REQUIRE(env.WaitWatching());
  const int lists = env.Lists();
  int converged = 0;
  for (const ConfdCase& c : cases) {
    env.api.Ops(ReplaceOps(CaseObjects(c, false)));
    const std::optional<Json> want = ExpectedSessions(c, kNode);
    Http last;
    const bool ok = Eventually(10s, [&] {
      last = env.Sessions();
      return want ? last.status == 200 && Json::parse(last.body)["sessions"] == *want
                  : last.status == 404;
    });
    INFO("case " << c.name << "\nexpected: " << (want ? want->dump() : "404")
                 << "\nserved: " << last.status << " " << last.body);
    CHECK(ok);
    converged += ok ? 1 : 0;
  }
  std::cout << "intent serve followed " << converged << " of " << cases.size()
            << " confd cases through watch events\n";
  CHECK(converged == static_cast<int>(cases.size()));
  CHECK(env.Lists() == lists);  // every change came through the watches, no relist
}

TEST_CASE("follows an add, a change and a delete, each within one watch event",
          "[integration][kube]") {
  Env env({.seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  REQUIRE(env.WaitWatching());
  REQUIRE(Protocols(env.SessionList()) == std::vector<std::string>{"Mesh_10_192_0_3"});
  const int lists = env.Lists();
  // One event per step: the server counts what it wrote on each watch.
  auto events = [&](const char* resource) {
    return env.api.Stats()["events_sent"].value(resource, 0);
  };

  const int peers_before = events(kPeers);
  env.api.Put(kPeers, Peer("tor", "192.168.1.1", 65001));
  CHECK(Eventually(5s, [&] { return Has(env.SessionList(), "Global_192_168_1_1"); }));
  CHECK(events(kPeers) == peers_before + 1);

  const int nodes_before = events(kNodes);
  env.api.Put(kNodes, Node("kube-node-1", "10.192.0.9/16"));
  CHECK(Eventually(5s, [&] {
    return Protocols(env.SessionList()) ==
           std::vector<std::string>{"Global_192_168_1_1", "Mesh_10_192_0_9"};
  }));
  CHECK(events(kNodes) == nodes_before + 1);

  env.api.Put(kNodes, Node("kube-node-2", "10.192.0.4/16"));
  CHECK(Eventually(5s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_4"); }));
  CHECK(env.Sessions("kube-node-2").status == 200);

  env.api.Delete(kPeers, "tor");
  env.api.Delete(kNodes, "kube-node-2");
  CHECK(Eventually(5s, [&] {
    return Protocols(env.SessionList()) == std::vector<std::string>{"Mesh_10_192_0_9"};
  }));
  CHECK(Eventually(5s, [&] { return env.Sessions("kube-node-2").status == 404; }));
  CHECK(events(kPeers) == peers_before + 2);
  CHECK(env.Lists() == lists);
}

TEST_CASE("the Kubernetes datastore first, projectcalico.org/v3 without it",
          "[integration][kube]") {
  const ConfdCase rr = FindConfdCase("explicit_peering/route_reflector");
  const ConfdCase mesh = FindConfdCase("mesh/ipip-always");
  SECTION("only the Calico API server: projectcalico.org/v3") {
    Env env({.serve = "v3", .seed = CaseObjects(rr, true)});
    REQUIRE(env.WaitSynced());
    CHECK(env.SessionList() == *ExpectedSessions(rr, kNode));
    CHECK(env.serve->Metric("calico_bgp_kube_resource_info",
                            {{"resource", "bgppeers"}, {"api_version", "projectcalico.org/v3"}}) ==
          1.0);
    // And it follows changes there too.
    env.api.Put(kV3Peers, {{"metadata", {{"name", "extra"}}},
                           {"spec", {{"peerIP", "192.168.7.7"}, {"asNumber", 65007}}}});
    CHECK(Eventually(5s, [&] { return Has(env.SessionList(), "Global_192_168_7_7"); }));
  }
  SECTION("both served: the CRDs win, projectcalico.org/v3 is never read") {
    Json seed = CaseObjects(rr, false);
    seed.update(CaseObjects(mesh, true));
    Env env({.serve = "crd,v3", .seed = seed});
    REQUIRE(env.WaitSynced());
    CHECK(env.SessionList() == *ExpectedSessions(rr, kNode));
    CHECK(*ExpectedSessions(rr, kNode) != *ExpectedSessions(mesh, kNode));
    const Json requests = env.api.Stats()["requests"];
    for (const auto& [what, n] : requests.items()) {
      INFO(what);
      CHECK(what.find("projectcalico.org/v3") == std::string::npos);
    }
  }
}

TEST_CASE("relists after 410 Gone when the history passed its resourceVersion",
          "[integration][kube]") {
  const bool http_410 = GENERATE(false, true);
  INFO((http_410 ? "HTTP 410 answer" : "ERROR event with a 410 Status"));
  Env env({.bookmark_interval = 0, .seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  REQUIRE(env.WaitWatching());
  env.api.Config({{"watch_410_http", http_410}});
  const int config_lists = env.api.Requests(std::string("list ") + kConfigs);
  const std::string watch = std::string("watch ") + kConfigs;
  // The BGPConfiguration watch goes down and cannot come back for a while...
  const int watches = env.api.Requests(watch);
  env.api.Config({{"fail", {{watch, 503}}}});
  env.api.Ops(Json::array({{{"op", "drop_watches"}, {"resource", kConfigs}}}));
  REQUIRE(Eventually(10s, [&] { return env.api.Requests(watch) > watches; }));
  // ...meanwhile the AS changes and the API server compacts its history past the watch's
  // resourceVersion.
  env.api.Put(kConfigs, {{"metadata", {{"name", "default"}}}, {"spec", {{"asNumber", 64999}}}});
  env.api.Ops(Json::array({{{"op", "bump"}}, {{"op", "compact"}}}));
  env.api.Config({{"fail", Json::object()}});
  CHECK(Eventually(20s, [&] {
    const Json s = env.SessionList();
    return !s.empty() && s[0]["neighbor_as"] == 64999;
  }));
  CHECK(env.api.Requests(std::string("list ") + kConfigs) == config_lists + 1);
  CHECK(env.serve->Metric("calico_bgp_kube_watch_restarts_total",
                          {{"resource", "bgpconfigurations"}, {"reason", "expired"}}) >= 1.0);
  CHECK(env.serve->Metric("calico_bgp_kube_errors_total",
                          {{"resource", "bgpconfigurations"}, {"kind", "expired"}}) >= 1.0);
  CHECK(env.serve->Log().find("too old resource version") != std::string::npos);
}

TEST_CASE("an expired continue token starts the LIST again", "[integration][kube]") {
  const ConfdCase c = FindConfdCase("explicit_peering/route_reflector");
  TempDir dir;
  TestPki pki(dir.path());
  FakeApiServer api(pki, dir.path(), {.seed = CaseObjects(c, false)});
  api.Config({{"compact_after_pages", 1}});
  IntentServe serve(dir.path(), WriteKubeconfig(dir.path(), pki, api.url()),
                    {"--kube.page-size=1"});
  CHECK(Eventually(15s, [&] {
    const Http r = serve.Get("/v1/nodes/kube-master/sessions");
    return r.status == 200 && Json::parse(r.body)["sessions"] == *ExpectedSessions(c, kNode);
  }));
  const std::string metrics = serve.Metrics();
  INFO(metrics);
  double expired = 0;
  for (const char* r : {"nodes", "bgppeers", "bgpconfigurations"}) {
    expired += serve.Metric("calico_bgp_kube_errors_total", {{"resource", r}, {"kind", "expired"}})
                   .value_or(0);
  }
  // The compaction may also expire the resourceVersion a resource listed at before it: a watch
  // 410 more, then.
  CHECK(expired >= 1.0);
  CHECK(serve.Log().find("LIST (continue) /api") != std::string::npos);
  CHECK(serve.Log().find("continue parameter is too old") != std::string::npos);
}

TEST_CASE("survives restarts of the API server, serving the last good answer meanwhile",
          "[integration][kube]") {
  Env env({.seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  Http before = env.Sessions();
  REQUIRE(before.status == 200);
  for (int round = 0; round < 2; ++round) {
    REQUIRE(Eventually(10s, [&] {
      return env.serve->Metric("calico_bgp_kube_watch_up", {{"resource", "nodes"}}) == 1.0;
    }));
    env.api.Kill();
    CHECK(Eventually(10s, [&] {
      return env.serve->Metric("calico_bgp_kube_watch_up", {{"resource", "nodes"}}) == 0.0;
    }));
    Http during = env.Sessions();
    CHECK(during.status == 200);
    CHECK(during.body == before.body);
    CHECK(during.headers["etag"] == before.headers["etag"]);
    env.api.Start();  // same port, same objects; its watch history is gone
  }
  env.api.Put(kNodes, Node("kube-node-2", "10.192.0.4/16"));
  CHECK(Eventually(20s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_4"); }));
  CHECK(env.serve->Metric("calico_bgp_kube_watch_restarts_total",
                          {{"resource", "nodes"}, {"reason", "dropped"}}) >= 2.0);
  CHECK(env.serve->Running());
}

TEST_CASE("never serves a half-synced view: 503 until every resource listed",
          "[integration][kube]") {
  TempDir dir;
  TestPki pki(dir.path());
  Json seed = MeshSeed();
  seed[kPeers].push_back(Peer("tor", "192.168.1.1", 65001));
  FakeApiServer api(pki, dir.path(), {.seed = seed});
  api.Config({{"hang", {std::string("list ") + kPeers}}});  // the BGPPeer LIST never answers
  IntentServe serve(dir.path(), WriteKubeconfig(dir.path(), pki, api.url()),
                    {"--kube.request-timeout=1s"});
  REQUIRE(Eventually(10s, [&] {
    return serve.Metric("calico_bgp_kube_objects", {{"resource", "nodes"}}) == 2.0 &&
           serve.Metric("calico_bgp_kube_objects", {{"resource", "bgpconfigurations"}}) == 1.0;
  }));
  // Nodes and the BGPConfiguration are read; the request for BGPPeers times out and is retried.
  CHECK(Eventually(15s, [&] {
    return serve.Metric("calico_bgp_kube_errors_total",
                        {{"resource", "bgppeers"}, {"kind", "timeout"}}) >= 2.0;
  }));
  const Http waiting = serve.Get("/v1/nodes/kube-master/sessions");
  CHECK(waiting.status == 503);
  CHECK(waiting.body.find("waiting for the first LIST of crd.projectcalico.org/v1 bgppeers") !=
        std::string::npos);
  CHECK(serve.Get("/v1/findings").status == 503);
  CHECK(serve.Get("/healthz").status == 200);
  CHECK(serve.Metric("calico_bgp_intent_synced") == 0.0);
  CHECK(serve.Metric("calico_bgp_config_problem") == std::nullopt);

  api.Config({{"hang", Json::array()}});
  Http ready;
  CHECK(Eventually(15s, [&] {
    ready = serve.Get("/v1/nodes/kube-master/sessions");
    return ready.status != 503;
  }));
  CHECK(ready.status == 200);  // complete at once: the BGPPeer's session is there
  CHECK(Protocols(Json::parse(ready.body)["sessions"]) ==
        std::vector<std::string>{"Global_192_168_1_1", "Mesh_10_192_0_3"});
}

TEST_CASE("ETag and 304, 404 for an unknown node, findings", "[integration][kube]") {
  Env env({.seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  const Http first = env.Sessions();
  REQUIRE(first.status == 200);
  const std::string etag = first.headers.at("etag");
  CHECK(etag.size() == 18);
  CHECK(first.headers.at("content-type") == "application/json");
  const Json doc = Json::parse(first.body);
  CHECK(doc["node"] == kNode);
  CHECK(doc.size() == 2);

  const Http same = env.Sessions(kNode, {"If-None-Match: " + etag});
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  CHECK(same.headers.at("etag") == etag);
  CHECK(env.Sessions(kNode, {"If-None-Match: \"0000000000000000\", W/" + etag}).status == 304);
  CHECK(env.Sessions(kNode, {"If-None-Match: \"0000000000000000\""}).status == 200);

  // A change that does not touch kube-master's sessions: a new model, the same answer and tag.
  const double changed = *env.serve->Metric("calico_bgp_intent_last_change_timestamp_seconds");
  env.api.Put(kNodes, Node("kube-node-1", "10.192.0.3/16", {{"zone", "b"}}));
  REQUIRE(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_intent_last_change_timestamp_seconds") > changed;
  }));
  CHECK(env.Sessions(kNode, {"If-None-Match: " + etag}).status == 304);

  // One that does: a new tag.
  env.api.Put(kPeers, Peer("tor", "192.168.1.1", 65001));
  Http changed_answer;
  CHECK(Eventually(5s, [&] {
    changed_answer = env.Sessions(kNode, {"If-None-Match: " + etag});
    return changed_answer.status == 200;
  }));
  CHECK(changed_answer.headers.at("etag") != etag);
  CHECK(Has(Json::parse(changed_answer.body)["sessions"], "Global_192_168_1_1"));

  const Http unknown = env.Sessions("no-such-node");
  CHECK(unknown.status == 404);
  CHECK(Json::parse(unknown.body)["error"] == "no Calico node named \"no-such-node\"");
  CHECK(env.serve->Get("/v1/nodes//sessions").status == 404);
  CHECK(env.serve->Get("/v1/nodes/a/b/sessions").status == 404);

  // A BGPPeer whose selector matches nothing: a finding, and its metric.
  Json lost = {
      {"metadata", {{"name", "lost"}}},
      {"spec",
       {{"nodeSelector", "rack == 'nowhere'"}, {"peerIP", "192.168.9.9"}, {"asNumber", 65009}}}};
  env.api.Put(kPeers, lost);
  CHECK(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_config_problem", {{"kind", "selector_matches_no_node"},
                                                           {"object", "BGPPeer/lost"}}) == 1.0;
  }));
  const Json findings = Json::parse(env.serve->Get("/v1/findings").body);
  CHECK(findings.dump().find("matches no node") != std::string::npos);
}

TEST_CASE("bad objects are kept out, their last good version stays, nothing crashes",
          "[integration][kube]") {
  Env env({.seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  REQUIRE(env.WaitWatching());
  const Json good = env.SessionList();
  REQUIRE(Protocols(good) == std::vector<std::string>{"Mesh_10_192_0_3"});

  // A new BGPPeer that cannot be read: left out, named.
  env.api.Put(kPeers, {{"metadata", {{"name", "bad-as"}}},
                       {"spec", {{"peerIP", "192.168.1.1"}, {"asNumber", "abc"}}}});
  CHECK(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_config_problem",
                             {{"kind", "invalid_object"}, {"object", "BGPPeer/bad-as"}}) == 1.0;
  }));
  CHECK(env.serve->Metric("calico_bgp_kube_rejected_objects", {{"resource", "bgppeers"}}) == 1.0);
  CHECK(env.serve->Log().find("spec.asNumber: not an AS number") != std::string::npos);
  CHECK(env.SessionList() == good);

  // A good Node turned bad: its last good version stays until a readable one arrives.
  env.api.Put(kNodes, Node("kube-node-1", "banana"));
  CHECK(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_kube_rejected_objects", {{"resource", "nodes"}}) == 1.0;
  }));
  CHECK(env.SessionList() == good);
  CHECK(env.serve->Log().find("not an IPv4 address or CIDR: \\\"banana\\\"") != std::string::npos);
  // Wrong types and no name at all.
  env.api.Ops(Json::array(
      {{{"op", "put"},
        {"resource", kNodes},
        {"object", {{"metadata", {{"name", "weird"}, {"labels", Json::array({1, 2})}}}}}},
       {{"op", "put"},
        {"resource", kPeers},
        {"object", {{"metadata", {{"name", "stringly"}}}, {"spec", "peerIP: 1.2.3.4"}}}}}));
  CHECK(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_kube_rejected_objects", {{"resource", "nodes"}}) == 2.0 &&
           env.serve->Metric("calico_bgp_kube_rejected_objects", {{"resource", "bgppeers"}}) == 2.0;
  }));
  // Unknown fields are ignored, as by every Kubernetes client.
  Json future = Node("kube-node-1", "10.192.0.7/16");
  future["metadata"]["someNewField"] = {{"a", 1}};
  future["spec"] = {{"futureField", true}, {"podCIDR", "10.244.1.0/24"}};
  future["extraTopLevel"] = "x";
  env.api.Put(kNodes, future);
  CHECK(Eventually(5s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_7"); }));
  CHECK(env.serve->Metric("calico_bgp_kube_rejected_objects", {{"resource", "nodes"}}) == 1.0);

  // Garbage on the watch stream: the watch is given up and opened again from the last good
  // resourceVersion; nothing is lost.
  const double decode_errors =
      env.serve->Metric("calico_bgp_kube_errors_total", {{"resource", "nodes"}, {"kind", "decode"}})
          .value_or(-1);
  env.api.Ops(Json::array(
      {{{"op", "inject"}, {"resource", kNodes}, {"line", "{not json"}},
       {{"op", "inject"}, {"resource", kNodes}, {"line", R"({"type":"WEIRD","object":{}})"}}}));
  CHECK(Eventually(5s, [&] {
    return env.serve->Metric("calico_bgp_kube_errors_total",
                             {{"resource", "nodes"}, {"kind", "decode"}}) > decode_errors;
  }));
  env.api.Put(kNodes, Node("kube-node-3", "10.192.0.5/16"));
  CHECK(Eventually(10s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_5"); }));
  CHECK(Has(env.SessionList(), "Mesh_10_192_0_7"));
  CHECK(env.serve->Running());
}

TEST_CASE("a dropped connection in the middle of an event loses nothing", "[integration][kube]") {
  Env env({.seed = MeshSeed()});
  REQUIRE(env.WaitSynced());
  REQUIRE(env.WaitWatching());
  env.api.Ops(Json::array({{{"op", "drop_watches"}, {"mid_event", true}}}));
  CHECK(Eventually(10s, [&] {
    return env.serve->Metric("calico_bgp_kube_watch_restarts_total",
                             {{"resource", "nodes"}, {"reason", "dropped"}}) >= 1.0;
  }));
  CHECK(env.serve->Log().find("an unfinished event discarded") != std::string::npos);
  CHECK(env.Sessions("cut").status == 404);  // the half event was never applied
  env.api.Put(kNodes, Node("kube-node-2", "10.192.0.4/16"));
  CHECK(Eventually(10s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_4"); }));
}

TEST_CASE("a huge list and huge objects", "[integration][kube]") {
  constexpr int kNodesInList = 10000;
  Json nodes = Json::array();
  for (int i = 0; i < kNodesInList; ++i) {
    nodes.push_back(Node("node-" + std::to_string(i),
                         "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "/16",
                         {{"rack", "r" + std::to_string(i % 50)}}));
  }
  nodes[42]["metadata"]["annotations"]["example.com/blob"] = std::string(1 << 20, 'x');
  Json seed = {
      {kNodes, nodes},
      {kPeers,
       {{{"metadata", {{"name", "tor-r7"}}},
         {"spec",
          {{"nodeSelector", "rack == 'r7'"}, {"peerIP", "192.168.7.1"}, {"asNumber", 65007}}}}}},
      {kConfigs,
       {{{"metadata", {{"name", "default"}}},
         {"spec", {{"asNumber", 64512}, {"nodeToNodeMeshEnabled", false}}}}}}};
  Env env({.seed = seed});
  REQUIRE(env.WaitSynced(60s));
  CHECK(env.serve->Metric("calico_bgp_intent_nodes") == kNodesInList);
  CHECK(Protocols(env.SessionList("node-7")) == std::vector<std::string>{"Node_192_168_7_1"});
  CHECK(env.SessionList("node-42").empty());
  CHECK(env.api.Requests(std::string("list ") + kNodes) == kNodesInList / 500);
  // A 1 MiB object in a watch event.
  Json big = Node("node-8", "10.1.0.8/16", {{"rack", "r7"}});
  big["metadata"]["annotations"]["example.com/blob"] = std::string(1 << 20, 'y');
  env.api.Put(kNodes, big);
  CHECK(Eventually(10s, [&] { return Has(env.SessionList("node-8"), "Node_192_168_7_1"); }));
}

TEST_CASE("a server that never answers: clear errors, nothing hangs", "[integration][kube]") {
  TempDir dir;
  TestPki pki(dir.path());
  FakeApiServer api(pki, dir.path(), {.seed = MeshSeed()});
  api.Config({{"hang", {"*"}}});
  IntentServe serve(dir.path(), WriteKubeconfig(dir.path(), pki, api.url()),
                    {"--kube.request-timeout=1s"});
  CHECK(Eventually(15s, [&] {
    return serve.Metric("calico_bgp_kube_errors_total",
                        {{"resource", "discovery"}, {"kind", "timeout"}}) >= 2.0;
  }));
  CHECK(serve.Get("/v1/nodes/kube-master/sessions").status == 503);
  CHECK(serve.Get("/healthz").status == 200);
  CHECK(serve.Log().find("no answer within 1s") != std::string::npos);
  api.Config({{"hang", Json::array()}});
  CHECK(Eventually(30s, [&] { return serve.Get("/v1/nodes/kube-master/sessions").status == 200; }));
}

TEST_CASE("credentials: 401 and 403 are named, a rotated token file is read again",
          "[integration][kube]") {
  SECTION("token rotation") {
    Env env({.seed = MeshSeed()});
    REQUIRE(env.WaitSynced());
    env.api.Config({{"tokens", {"rotated-token"}}});
    env.api.Ops(Json::array({{{"op", "drop_watches"}}}));
    CHECK(Eventually(10s, [&] {
      return env.serve->Metric("calico_bgp_kube_errors_total",
                               {{"resource", "nodes"}, {"kind", "unauthorized"}}) >= 1.0;
    }));
    CHECK(env.Sessions().status == 200);  // the last good state stays served
    std::ofstream(env.dir.File("token")) << "rotated-token\n";
    env.api.Put(kNodes, Node("kube-node-2", "10.192.0.4/16"));
    CHECK(Eventually(20s, [&] { return Has(env.SessionList(), "Mesh_10_192_0_4"); }));
  }
  SECTION("a client certificate instead of a token") {
    Env env({.seed = MeshSeed(), .client_ca = true}, {}, /*client_cert=*/true);
    CHECK(env.WaitSynced());
  }
  SECTION("RBAC forbids listing BGPPeers") {
    TempDir dir;
    TestPki pki(dir.path());
    FakeApiServer api(pki, dir.path(), {.seed = MeshSeed()});
    api.Config({{"fail", {{std::string("list ") + kPeers, 403}}}});
    IntentServe serve(dir.path(), WriteKubeconfig(dir.path(), pki, api.url()));
    CHECK(Eventually(10s, [&] {
      return serve.Metric("calico_bgp_kube_errors_total",
                          {{"resource", "bgppeers"}, {"kind", "forbidden"}}) >= 1.0;
    }));
    CHECK(serve.Log().find("HTTP 403 Forbidden") != std::string::npos);
    CHECK(serve.Get("/v1/nodes/kube-master/sessions").status == 503);
  }
}

TEST_CASE("the web config's TLS and basic auth cover every path", "[integration][kube]") {
  TempDir dir;
  TestPki pki(dir.path());
  FakeApiServer api(pki, dir.path(), {.seed = MeshSeed()});
  // bcrypt of "intent-secret" (python3 crypt, METHOD_BLOWFISH).
  std::ofstream(dir.File("web.yml"))
      << "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
         "basic_auth_users:\n  prom: "
         "$2b$04$Wf6RZyKkPy6eIc4hf1UhQOIRkXD.GbpLloiFELx2Vey8c1d4oN.Zm\n";
  IntentServe serve(dir.path(), WriteKubeconfig(dir.path(), pki, api.url()),
                    {"--web.config.file=" + dir.File("web.yml")});
  const std::string base = "https://127.0.0.1:" + std::to_string(serve.port());
  const std::string auth = "Authorization: Basic cHJvbTppbnRlbnQtc2VjcmV0";  // prom:intent-secret
  CHECK(Eventually(15s, [&] {
    return HttpCall(base + "/v1/nodes/kube-master/sessions", {auth}, pki.ca_cert).status == 200;
  }));
  for (const char* path :
       {"/v1/nodes/kube-master/sessions", "/v1/findings", "/metrics", "/healthz", "/", "/nope"}) {
    INFO(path);
    Http r = HttpCall(base + path, {}, pki.ca_cert);
    CHECK(r.status == 401);
    CHECK(r.headers["www-authenticate"].starts_with("Basic realm="));
    CHECK(HttpCall(base + path, {"Authorization: Basic cHJvbTp3cm9uZw=="}, pki.ca_cert).status ==
          401);
  }
  CHECK(HttpCall(base + "/metrics", {auth}, pki.ca_cert).body.find("calico_bgp_intent_synced 1") !=
        std::string::npos);
  CHECK(HttpCall("http://127.0.0.1:" + std::to_string(serve.port()) + "/healthz").status != 200);
}

}  // namespace
}  // namespace cbe::testing
