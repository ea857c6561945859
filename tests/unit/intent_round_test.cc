// The node exporter's intent client with a scripted HTTP getter: the answer kept, ETags,
// and what each failure says.

#include "exporter/core/intent_round.h"

#include <catch2/catch.hpp>
#include <deque>

#include "exporter/intent/session_json.h"
#include "tests/unit/fake_stream.h"

namespace cbe {
namespace {

struct ScriptedGetter final : public HttpGetter {
  std::deque<HttpGetResponse>* answers;
  std::vector<HttpGetRequest>* asked;
  HttpGetResponse Get(const HttpGetRequest& request) override {
    asked->push_back(request);
    HttpGetResponse r = answers->front();
    answers->pop_front();
    return r;
  }
};

struct Harness {
  std::deque<HttpGetResponse> answers;
  std::vector<HttpGetRequest> asked;
  int factories = 0;
  testing::FakeClock clock;
  IntentRound round;

  Harness()
      : round(Config(), "node-a", &clock, [this]() -> Result<std::unique_ptr<HttpGetter>> {
          ++factories;
          auto g = std::make_unique<ScriptedGetter>();
          g->answers = &answers;
          g->asked = &asked;
          return std::unique_ptr<HttpGetter>(std::move(g));
        }) {}
  static IntentConfig Config() {
    IntentConfig c;
    c.url = "http://intent:10180";
    c.timeout = std::chrono::milliseconds(3000);
    return c;
  }
};

std::string Answer(const std::string& node, std::initializer_list<std::string> protocols) {
  std::vector<intent::Session> sessions;
  for (const auto& p : protocols) {
    intent::Session s;
    s.protocol = p;
    s.neighbor_address = "10.0.0.1";
    sessions.push_back(s);
  }
  return intent::NodeSessionsJson(node, sessions);
}

TEST_CASE("intent round: an answer, then 304 keeps it, with the ETag", "[unit]") {
  Harness h;
  h.answers = {{200, Answer("node-a", {"Mesh_10_0_0_1", "Mesh_10_0_0_2"}), "\"e1\"", ""},
               {304, "", "\"e1\"", ""}};
  auto first = h.round.Run();
  REQUIRE(first->up);
  REQUIRE(first->sessions);
  CHECK(first->sessions->size() == 2);
  CHECK(first->run.success);
  CHECK(first->run.probe == "intent");
  CHECK(h.asked[0].url == "http://intent:10180/v1/nodes/node-a/sessions");
  CHECK(h.asked[0].if_none_match.empty());
  CHECK(h.asked[0].timeout == std::chrono::milliseconds(3000));
  h.clock.Advance(std::chrono::seconds(60));
  auto second = h.round.Run();
  CHECK(h.asked[1].if_none_match == "\"e1\"");
  CHECK(second->up);
  CHECK(second->sessions == first->sessions);  // The same answer, not a copy.
  CHECK(second->last_success_timestamp == first->last_success_timestamp + 60);
  CHECK(h.factories == 1);
}

TEST_CASE("intent round: failures keep the last good answer and say why", "[unit]") {
  Harness h;
  h.answers = {{200, Answer("node-a", {"Mesh_10_0_0_1"}), "\"e1\"", ""},
               {0, "", "", "Failed to connect to intent port 10180: Connection refused"},
               {503, "", "", ""},
               {404, "", "", ""},
               {200, "{\"node\":\"node-a\"}", "", ""},
               {200, Answer("node-b", {}), "", ""},
               {500, "", "", ""}};
  const auto good = h.round.Run();
  const std::vector<std::string> expected = {
      "Failed to connect to intent port 10180: Connection refused",
      "the intent service has not read the whole cluster yet (503)",
      "the intent service knows no Calico node \"node-a\" (node_name or NODE_NAME must be the "
      "Kubernetes node name)",
      "the answer is not the sessions of a node: sessions: expected a list",
      "the answer is for node \"node-b\", not \"node-a\"",
      "HTTP 500"};
  for (const std::string& why : expected) {
    CAPTURE(why);
    h.clock.Advance(std::chrono::seconds(60));
    const auto snap = h.round.Run();
    CHECK_FALSE(snap->up);
    CHECK_FALSE(snap->run.success);
    CHECK(snap->error == why);
    CHECK(snap->sessions == good->sessions);
    CHECK(snap->last_success_timestamp == good->last_success_timestamp);
  }
}

TEST_CASE("intent round: no plugin, no answer, and another service forgets the answer", "[unit]") {
  testing::FakeClock clock;
  IntentRound broken(Harness::Config(), "node-a", &clock,
                     []() -> Result<std::unique_ptr<HttpGetter>> {
                       return Error{"the plugin calico-bgp-exporter-kube.so is in none of: /x"};
                     });
  const auto snap = broken.Run();
  CHECK_FALSE(snap->up);
  CHECK(snap->error == "the plugin calico-bgp-exporter-kube.so is in none of: /x");
  CHECK_FALSE(snap->sessions);

  Harness h;
  h.answers = {{200, Answer("node-a", {"Mesh_10_0_0_1"}), "\"e1\"", ""}, {503, "", "", ""}};
  REQUIRE(h.round.Run()->sessions);
  IntentConfig other = Harness::Config();
  other.url = "http://other:10180";
  h.round.Reconfigure(other, "node-a");
  const auto after = h.round.Run();
  CHECK_FALSE(after->sessions);
  CHECK(h.asked[1].url == "http://other:10180/v1/nodes/node-a/sessions");
  CHECK(h.asked[1].if_none_match.empty());
}

}  // namespace
}  // namespace cbe
