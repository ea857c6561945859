// The Kubernetes wire format (exporter/kube/protocol.h), the backoff, the API choice and the
// objects read into the engine's types: pure pieces, no IO.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "exporter/kube/backoff.h"
#include "exporter/kube/calico_objects.h"
#include "exporter/kube/protocol.h"
#include "exporter/kube/reader.h"
#include "exporter/kube/store.h"

namespace cbe::kube {
namespace {

TEST_CASE("LIST page: items, resourceVersion, continue; status and managedFields skipped",
          "[unit][kube]") {
  const Result<ListPage> page = DecodeListPage(R"({"kind":"NodeList","apiVersion":"v1",
    "metadata":{"resourceVersion":"4711","continue":"tok","remainingItemCount":3},
    "items":[{"metadata":{"name":"a","managedFields":[{"manager":"kubelet"}],
                          "labels":{"status":"kept"}},
              "spec":{"status":"kept too"},
              "status":{"images":[{"names":["x"],"sizeBytes":1}]}},
             {"metadata":{"name":"b"}}]})");
  REQUIRE(page.ok());
  CHECK(page->resource_version == "4711");
  CHECK(page->continue_token == "tok");
  REQUIRE(page->items.size() == 2);
  CHECK(page->items[0].dump() ==
        R"({"metadata":{"labels":{"status":"kept"},"name":"a"},"spec":{"status":"kept too"}})");
  CHECK(ObjectName(page->items[1]) == "b");

  const Result<ListPage> last =
      DecodeListPage(R"({"metadata":{"resourceVersion":"5"},"items":null})");
  REQUIRE(last.ok());
  CHECK(last->items.empty());
  CHECK(last->continue_token.empty());

  for (const char* bad :
       {"", "[1]", "{\"items\":[]}", "{\"metadata\":{\"resourceVersion\":\"1\"}}", "<html>"}) {
    INFO(bad);
    CHECK_FALSE(DecodeListPage(bad).ok());
  }
}

TEST_CASE("watch events: every type, the object's resourceVersion, ERROR's Status",
          "[unit][kube]") {
  Result<WatchEvent> e = DecodeWatchEvent(
      R"({"type":"MODIFIED","object":{"kind":"Node","metadata":{"name":"n","resourceVersion":"9"},
          "status":{"x":1}}})");
  REQUIRE(e.ok());
  CHECK(e->type == EventType::kModified);
  CHECK(e->resource_version == "9");
  CHECK_FALSE(e->object.contains("status"));

  e = DecodeWatchEvent(R"({"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1",
      "metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}})");
  REQUIRE(e.ok());
  CHECK(e->type == EventType::kBookmark);
  CHECK(e->resource_version == "12");

  e = DecodeWatchEvent(R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1",
      "metadata":{},"status":"Failure","message":"too old resource version: 5 (10)",
      "reason":"Expired","code":410}})J");
  REQUIRE(e.ok());
  CHECK(e->type == EventType::kError);
  CHECK(e->status.code == 410);
  CHECK(e->status.reason == "Expired");
  CHECK(e->status.message == "too old resource version: 5 (10)");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{not json", "watch event is not JSON"},
      {"[]", "watch event is not a JSON object"},
      {R"({"type":"ADDED"})", "watch event ADDED has no object"},
      {R"({"type":"WEIRD","object":{}})", "watch event of unknown type \"WEIRD\""},
      {R"({"type":"DELETED","object":{"metadata":{}}})",
       "watch event DELETED has no object.metadata.resourceVersion"},
  };
  for (const auto& [line, message] : bad) {
    const Result<WatchEvent> r = DecodeWatchEvent(line);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == message);
  }
}

TEST_CASE("Status of an error answer, or one made from the HTTP status", "[unit][kube]") {
  Status s = DecodeStatus(R"({"kind":"Status","code":403,"reason":"Forbidden",
      "message":"nodes is forbidden: User \"x\" cannot list resource \"nodes\""})",
                          403);
  CHECK(s.code == 403);
  CHECK(s.reason == "Forbidden");
  CHECK(s.message.starts_with("nodes is forbidden"));
  s = DecodeStatus("<html>bad gateway</html>", 502);
  CHECK(s.code == 502);
  CHECK(s.message == "HTTP status 502");
  CHECK(DecodeStatus("", 401).message == "Unauthorized");
}

TEST_CASE("a watch stream cut into lines whatever its chunks", "[unit][kube]") {
  LineSplitter splitter(16);
  std::vector<std::string> lines;
  const auto collect = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  CHECK(splitter.Feed("{\"a\":", collect));
  CHECK(splitter.pending() == 5);
  CHECK(splitter.Feed("1}\n\n{\"b\":2}\n{\"c", collect));
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  CHECK(splitter.pending() == 3);
  CHECK_FALSE(splitter.Feed("\":1234567890123}\n", collect));  // 17 bytes: too long
  CHECK(splitter.too_long());
  CHECK_FALSE(splitter.Feed("{}\n", collect));
  splitter.Reset();
  CHECK(splitter.Feed("{}\r\n", collect));
  CHECK(lines.back() == "{}\r");
  // The consumer can stop the stream.
  LineSplitter stop(100);
  int seen = 0;
  CHECK_FALSE(stop.Feed("1\n2\n3\n", [&](std::string_view) { return ++seen < 2; }));
  CHECK(seen == 2);
}

TEST_CASE("discovery: group versions and resources; the Kubernetes datastore first",
          "[unit][kube]") {
  const Result<std::set<std::string>> gvs = DecodeGroupVersions(R"({"kind":"APIGroupList",
    "groups":[{"name":"crd.projectcalico.org","versions":[{"groupVersion":"crd.projectcalico.org/v1",
    "version":"v1"}]},{"name":"projectcalico.org","versions":[{"groupVersion":
    "projectcalico.org/v3","version":"v3"}]}]})");
  REQUIRE(gvs.ok());
  CHECK(*gvs == std::set<std::string>{"crd.projectcalico.org/v1", "projectcalico.org/v3"});
  const Result<std::set<std::string>> names = DecodeResourceNames(
      R"({"resources":[{"name":"nodes"},{"name":"nodes/status"},{"name":"bgppeers"}]})");
  REQUIRE(names.ok());
  CHECK(*names == std::set<std::string>{"nodes", "bgppeers"});

  const std::set<std::string> crd = {"bgppeers", "bgpconfigurations", "ippools"};
  const std::set<std::string> v3 = {"nodes", "bgppeers", "bgpconfigurations"};
  CHECK(ChooseApi(*gvs, crd, v3).value() == ApiMode::kKubernetesDatastore);
  CHECK(ChooseApi(*gvs, std::nullopt, v3).value() == ApiMode::kCalicoApiServer);
  CHECK(ChooseApi({"projectcalico.org/v3"}, crd, v3).value() == ApiMode::kCalicoApiServer);
  CHECK_FALSE(ChooseApi(*gvs, std::set<std::string>{"ippools"}, std::nullopt).ok());
  CHECK(
      ChooseApi({}, std::nullopt, std::nullopt).error().message.ends_with("is Calico installed?"));
  CHECK(ResourcesOf(ApiMode::kKubernetesDatastore)[0].Path() == "/api/v1/nodes");
  CHECK(ResourcesOf(ApiMode::kKubernetesDatastore)[1].Path() ==
        "/apis/crd.projectcalico.org/v1/bgppeers");
  CHECK(ResourcesOf(ApiMode::kCalicoApiServer)[0].Path() == "/apis/projectcalico.org/v3/nodes");
}

TEST_CASE("query strings: limit, continue and resourceVersion percent-encoded", "[unit][kube]") {
  CHECK(ListQuery(500, "") == "limit=500");
  CHECK(ListQuery(500, "eyJ2Ijo+/=") == "limit=500&continue=eyJ2Ijo%2B%2F%3D");
  CHECK(ListQuery(0, "") == "");
  CHECK(WatchQuery("4711", 300, true) ==
        "watch=1&resourceVersion=4711&allowWatchBookmarks=true&timeoutSeconds=300");
}

TEST_CASE("backoff: exponential, capped, jittered by the injected randomness, reset",
          "[unit][kube]") {
  double r = 0.0;
  Backoff b({std::chrono::milliseconds(500), std::chrono::milliseconds(4000), 2.0, 0.5},
            [&r] { return r; });
  using ms = std::chrono::milliseconds;
  CHECK(b.Next() == ms(250));  // random 0: half the base
  r = 1.0;
  CHECK(b.Next() == ms(1000));  // random 1: the whole base
  r = 0.5;
  CHECK(b.Next() == ms(1500));  // base 2000 * 0.75
  CHECK(b.Next() == ms(3000));  // base 4000 (the cap)
  CHECK(b.Next() == ms(3000));
  CHECK(b.failures() == 5);
  b.Reset();
  CHECK(b.failures() == 0);
  CHECK(b.Next() == ms(375));
  Backoff no_jitter({ms(100), ms(1000), 3.0, 0.0}, [] { return 0.9; });
  CHECK(no_jitter.Next() == ms(100));
  CHECK(no_jitter.Next() == ms(300));
  CHECK(no_jitter.Next() == ms(900));
  CHECK(no_jitter.Next() == ms(1000));
}

TEST_CASE("objects read with the engine's reader: either form, unknown fields ignored",
          "[unit][kube]") {
  const ResourceType nodes{"v1", "nodes", "Node"};
  Result<CalicoObject> o = DecodeCalicoObject(nodes, nlohmann::json::parse(R"({
    "metadata":{"name":"n1","labels":{"rack":"r1"},"uid":"x","futureField":1,
      "annotations":{"projectcalico.org/IPv4Address":"10.0.0.1/24",
                     "projectcalico.org/ASNumber":"64600","other":"x"}},
    "spec":{"podCIDR":"10.244.0.0/24","newField":{"a":[1]}}})"));
  REQUIRE(o.ok());
  const auto& n = std::get<intent::Node>(*o);
  CHECK(n.name == "n1");
  CHECK(n.ipv4 == "10.0.0.1");
  CHECK(n.as_number == 64600u);
  CHECK(n.labels.at("rack") == "r1");

  const ResourceType peers{"crd.projectcalico.org/v1", "bgppeers", "BGPPeer"};
  o = DecodeCalicoObject(peers, nlohmann::json::parse(
                                    R"({"metadata":{"name":"p"},"spec":{"peerIP":"10.0.0.9",
                                    "asNumber":65000,"keepaliveTime":"30s"}})"));
  REQUIRE(o.ok());
  CHECK(std::get<intent::BgpPeer>(*o).as_number == 65000u);
  CHECK(std::get<intent::BgpPeer>(*o).keepalive_seconds == 30);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"metadata":{"name":"p"},"spec":{"asNumber":"abc"}})",
       "BGPPeer/p: spec.asNumber: not an AS number: \"abc\""},
      {R"({"metadata":{},"spec":{}})", "BGPPeer/: metadata.name: missing"},
      {R"({"metadata":{"name":"p"},"spec":"x"})", "BGPPeer/p: spec: expected a mapping"},
  };
  for (const auto& [json, message] : bad) {
    const Result<CalicoObject> r = DecodeCalicoObject(peers, nlohmann::json::parse(json));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == message);
  }
}

TEST_CASE("store: a rejected object keeps its last good version; no-op changes change nothing",
          "[unit][kube]") {
  ResourceStore store({"v1", "nodes", "Node"});
  intent::Node a;
  a.name = "a";
  a.ipv4 = "10.0.0.1";
  store.Replace({{"a", a}}, {{"b", "bad"}}, 1);
  CHECK(store.listed());
  CHECK(store.Stats().objects == 1);
  CHECK(store.Stats().rejected == 1);
  CHECK_FALSE(store.Upsert("a", a, 2));  // the same content: nothing to recompute
  CHECK(store.Reject("a", "spec broken", 3));
  CHECK_FALSE(store.Reject("a", "spec broken", 4));  // the same rejection again
  intent::Cluster cluster;
  std::vector<RejectedObject> rejected;
  store.AddTo(cluster, rejected);
  REQUIRE(cluster.nodes.size() == 1);  // the last good version of a stays
  CHECK(cluster.nodes[0].ipv4 == "10.0.0.1");
  CHECK(rejected == std::vector<RejectedObject>{{"Node/a", "spec broken"}, {"Node/b", "bad"}});
  // A relist with a still unreadable a keeps its last good version too.
  store.Replace({}, {{"a", "still broken"}}, 5);
  cluster = {};
  rejected.clear();
  store.AddTo(cluster, rejected);
  CHECK(cluster.nodes.size() == 1);
  a.ipv4 = "10.0.0.2";
  CHECK(store.Upsert("a", a, 6));
  CHECK(store.Stats().rejected == 0);
  CHECK(store.Remove("a", 7));
  CHECK_FALSE(store.Remove("a", 8));
  CHECK(store.Stats().last_sync_unix == 8);
}

}  // namespace
}  // namespace cbe::kube
