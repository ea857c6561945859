// The reflector's logic (exporter/kube/reflector.h) against a scripted HTTP client and a manual
// clock: pages, watch events, re-watch from the last resourceVersion, relist on 410, backoff
// with jitter between failures. No socket, no sleep: the clock moves when the test says so.

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/kube/reflector.h"
#include "tests/unit/manual_clock.h"

namespace cbe::kube {
namespace {

using std::chrono::milliseconds;
using testing::ManualClock;
using testing::WaitFor;

// One scripted answer.
struct Answer {
  Answer() = default;
  Answer(int s, std::vector<std::string> c, std::optional<ErrorKind> e = std::nullopt,
         milliseconds l = milliseconds(0))
      : status(s), chunks(std::move(c)), error(e), lasts(l) {}
  int status = 200;
  std::vector<std::string> chunks;  // the body, in these pieces
  std::optional<ErrorKind> error;   // a transport failure (after the chunks)
  milliseconds lasts{0};            // the clock moves on this much during the request
};

// Hands out the scripted answers in order and records each request with the time it was made.
// With no answer left, a request blocks until the reflector stops.
class ScriptedHttp : public HttpClient {
 public:
  ScriptedHttp(ManualClock* clock, const std::atomic<bool>* stop) : clock_(clock), stop_(stop) {}

  void Add(Answer a) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(a));
    cv_.notify_all();
  }
  std::vector<std::string> Paths() {
    std::lock_guard lock(mu_);
    return paths_;
  }
  std::vector<milliseconds> Times() {
    std::lock_guard lock(mu_);
    return times_;
  }
  std::size_t Requests() { return Paths().size(); }
  void Wake() { cv_.notify_all(); }

  HttpResponse Get(const HttpRequest& request) override {
    Answer a;
    {
      std::unique_lock lock(mu_);
      paths_.push_back(request.path_and_query);
      times_.push_back(std::chrono::duration_cast<milliseconds>(clock_->Monotonic() - start_));
      cv_.wait(lock, [&] { return !answers_.empty() || stop_->load(); });
      if (answers_.empty()) {
        return {0, std::nullopt, "", "", true, ""};
      }
      a = std::move(answers_.front());
      answers_.pop_front();
    }
    clock_->Advance(a.lasts);
    HttpResponse r;
    r.status = a.status;
    if (request.on_response && a.status != 0) {
      request.on_response(a.status);
    }
    for (const std::string& chunk : a.chunks) {
      if (a.status >= 200 && a.status < 300) {
        if (request.on_body && !request.on_body(chunk)) {
          r.stopped = true;
          return r;
        }
      } else {
        r.error_body += chunk;
      }
    }
    r.error = a.error;
    r.message = a.error ? "scripted failure" : "";
    return r;
  }

 private:
  ManualClock* clock_;
  const std::atomic<bool>* stop_;
  const std::chrono::steady_clock::time_point start_ = clock_->Monotonic();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Answer> answers_;
  std::vector<std::string> paths_;
  std::vector<milliseconds> times_;
};

std::string NodeJson(const std::string& name, const std::string& ip, const std::string& rv) {
  return R"({"metadata":{"name":")" + name + R"(","resourceVersion":")" + rv +
         R"(","annotations":{"projectcalico.org/IPv4Address":")" + ip + R"("}}})";
}

std::string ListPage(const std::vector<std::string>& items, const std::string& rv,
                     const std::string& cont = "") {
  std::string joined;
  for (const std::string& i : items) {
    joined += (joined.empty() ? "" : ",") + i;
  }
  return R"({"kind":"NodeList","metadata":{"resourceVersion":")" + rv + R"(","continue":")" + cont +
         R"("},"items":[)" + joined + "]}";
}

// One line of a watch stream (the API server writes each event on one line).
std::string Event(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + nlohmann::json::parse(object).dump() + "}\n";
}

// A reflector of v1 nodes on its own thread, page size 2, with the scripted client.
struct Fixture {
  explicit Fixture(double random = 0.0)
      : store({"v1", "nodes", "Node"}), http(&clock, &stopping), random01(random) {
    ReflectorOptions options;
    options.page_size = 2;
    options.watch_timeout = std::chrono::seconds(300);
    options.max_event_bytes = 4096;
    ReflectorEnv env{&http, &clock, [this] { return random01; },
                     [] { return Result<std::string>(std::string("t0ken")); },
                     [this] { ++changes; }};
    reflector = std::make_unique<Reflector>(&store, options, std::move(env));
  }
  ~Fixture() { Stop(); }
  void Start() {
    thread = std::thread([this] { reflector->Run(); });
  }
  void Stop() {
    stopping = true;
    reflector->Stop();
    http.Wake();
    if (thread.joinable()) {
      thread.join();
    }
  }
  std::vector<std::string> Ips() {
    intent::Cluster c;
    std::vector<RejectedObject> rejected;
    store.AddTo(c, rejected);
    std::vector<std::string> out;
    for (const intent::Node& n : c.nodes) {
      out.push_back(n.name + "=" + n.ipv4);
    }
    return out;
  }
  // Waits until the reflector waits for time (backoff), moves time on by `d` and waits for the
  // request that follows. Requests are counted while it waits (none is in flight then), and
  // the next call starts only after that request, so a wait is never taken for the one before.
  void AdvanceUntilRequest(milliseconds d) {
    REQUIRE(WaitFor([&] { return clock.Waiters() > 0; }));
    const std::size_t before = http.Requests();
    clock.Advance(d);
    REQUIRE(WaitFor([&] { return http.Requests() > before; }));
  }

  ManualClock clock;
  std::atomic<bool> stopping{false};
  ResourceStore store;
  ScriptedHttp http;
  double random01;
  std::atomic<int> changes{0};
  std::unique_ptr<Reflector> reflector;
  std::thread thread;
};

TEST_CASE("reflector: LIST in pages, WATCH from its resourceVersion, events, re-watch",
          "[unit][kube]") {
  Fixture f;
  f.http.Add(
      {200,
       {ListPage({NodeJson("a", "10.0.0.1", "3"), NodeJson("b", "10.0.0.2", "4")}, "10", "c1")}});
  f.http.Add({200, {ListPage({NodeJson("c", "10.0.0.3", "5")}, "10")}});
  // Events split at odd places; the stream ends as the server's timeoutSeconds ends it.
  const std::string events = Event("ADDED", NodeJson("d", "10.0.0.4", "11")) +
                             Event("MODIFIED", NodeJson("a", "10.0.0.9", "12")) +
                             Event("DELETED", NodeJson("b", "10.0.0.2", "13")) +
                             Event("BOOKMARK", R"({"metadata":{"resourceVersion":"15"}})");
  f.http.Add({200,
              {events.substr(0, 7), events.substr(7, 100), events.substr(107)},
              {},
              std::chrono::minutes(5)});
  f.Start();
  REQUIRE(WaitFor([&] { return f.http.Requests() == 4; }));  // the next WATCH is open
  const std::vector<std::string> paths = f.http.Paths();
  CHECK(paths[0] == "/api/v1/nodes?limit=2");
  CHECK(paths[1] == "/api/v1/nodes?limit=2&continue=c1");
  CHECK(paths[2].starts_with(
      "/api/v1/nodes?watch=1&resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=300"));
  CHECK(paths[3].starts_with("/api/v1/nodes?watch=1&resourceVersion=15&"));  // the bookmark's
  CHECK(f.Ips() == std::vector<std::string>{"a=10.0.0.9", "c=10.0.0.3", "d=10.0.0.4"});
  CHECK(f.changes == 4);  // the LIST and three events; the bookmark changes nothing
  const ResourceStats s = f.store.Stats();
  CHECK(s.listed);
  CHECK(s.list_requests == 2);
  CHECK(s.watch_requests == 2);
  CHECK(s.events == 4);
  CHECK(s.watch_restarts[static_cast<int>(WatchEnd::kTimeout)] == 1);
  // The watch that ended after its time was re-opened at once, without backoff.
  CHECK(f.http.Times()[3] == f.http.Times()[2] + std::chrono::minutes(5));
}

TEST_CASE("reflector: 410 Gone relists, as an ERROR event and as an HTTP answer", "[unit][kube]") {
  Fixture f;
  f.http.Add({200, {ListPage({NodeJson("a", "10.0.0.1", "3")}, "10")}});
  f.http.Add({200, {Event("ERROR", R"J({"kind":"Status","code":410,"reason":"Expired",
              "message":"too old resource version: 10 (20)"})J")}});
  f.http.Add({200, {ListPage({NodeJson("b", "10.0.0.2", "21")}, "22")}});
  f.http.Add({410, {R"({"kind":"Status","code":410,"reason":"Expired","message":"gone"})"}});
  f.http.Add({200, {ListPage({NodeJson("c", "10.0.0.3", "23")}, "30")}});
  f.Start();
  REQUIRE(WaitFor([&] { return f.http.Requests() == 6; }));
  const std::vector<std::string> paths = f.http.Paths();
  CHECK(paths[1].find("resourceVersion=10&") != std::string::npos);
  CHECK(paths[2] == "/api/v1/nodes?limit=2");
  CHECK(paths[3].find("resourceVersion=22&") != std::string::npos);
  CHECK(paths[4] == "/api/v1/nodes?limit=2");
  CHECK(paths[5].find("resourceVersion=30&") != std::string::npos);
  CHECK(f.Ips() == std::vector<std::string>{"c=10.0.0.3"});  // each relist replaced the view
  const ResourceStats s = f.store.Stats();
  CHECK(s.watch_restarts[static_cast<int>(WatchEnd::kExpired)] == 2);
  CHECK(s.errors[static_cast<int>(ErrorKind::kExpired)] == 2);
  CHECK(s.last_error.find("gone") != std::string::npos);
  // A relist follows at once: no time passed.
  CHECK(f.http.Times()[5] == milliseconds(0));
}

TEST_CASE("reflector: backoff with jitter between failures, reset by a success", "[unit][kube]") {
  Fixture f(/*random=*/0.5);  // delays of 0.75 times the base: 375 ms, 750 ms, 1500 ms
  f.http.Add({0, {}, ErrorKind::kConnect});
  f.http.Add({503, {R"({"kind":"Status","code":503,"message":"etcd leader changed"})"}});
  f.http.Add({200, {"{not a list"}});
  f.http.Add({200, {ListPage({NodeJson("a", "10.0.0.1", "3")}, "10")}});
  f.http.Add({0, {}, ErrorKind::kTimeout});  // the WATCH
  f.Start();
  f.AdvanceUntilRequest(milliseconds(375));
  f.AdvanceUntilRequest(milliseconds(750));
  f.AdvanceUntilRequest(milliseconds(1500));
  f.AdvanceUntilRequest(milliseconds(375));  // the LIST succeeded: back to the first delay
  REQUIRE(WaitFor([&] { return f.http.Requests() == 6; }));
  const std::vector<milliseconds> t = f.http.Times();
  CHECK(t[1] - t[0] == milliseconds(375));
  CHECK(t[2] - t[1] == milliseconds(750));
  CHECK(t[3] - t[2] == milliseconds(1500));
  CHECK(t[4] == t[3]);  // WATCH right after the LIST
  CHECK(t[5] - t[4] == milliseconds(375));
  CHECK(f.http.Paths()[5].find("resourceVersion=10&") != std::string::npos);
  const ResourceStats s = f.store.Stats();
  CHECK(s.errors[static_cast<int>(ErrorKind::kConnect)] == 1);
  CHECK(s.errors[static_cast<int>(ErrorKind::kServerError)] == 1);
  CHECK(s.errors[static_cast<int>(ErrorKind::kDecode)] == 1);
  CHECK(s.errors[static_cast<int>(ErrorKind::kTimeout)] == 1);
  CHECK(s.watch_restarts[static_cast<int>(WatchEnd::kError)] == 1);
  // Failures before the first LIST never made a view.
  CHECK(f.changes == 1);
}

TEST_CASE("reflector: bad objects, garbage and a cut stream keep the last good state",
          "[unit][kube]") {
  Fixture f;
  f.http.Add(
      {200, {ListPage({NodeJson("a", "10.0.0.1", "3"), NodeJson("bad", "banana", "4")}, "10")}});
  f.http.Add({200,
              {Event("MODIFIED", NodeJson("a", "not-an-ip", "11")),
               Event("ADDED", NodeJson("b", "10.0.0.2", "12")), "{not json}\n",
               Event("ADDED", NodeJson("never", "10.0.0.7", "13"))}});
  f.http.Add({200,
              {Event("ADDED", NodeJson("c", "10.0.0.3", "14")), R"({"type":"ADD)"},
              ErrorKind::kDropped});
  f.http.Add({200,
              {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"" +
               std::string(5000, 'x') + "\"}}}\n"}});
  f.Start();
  f.AdvanceUntilRequest(milliseconds(250));  // after the garbage
  f.AdvanceUntilRequest(milliseconds(250));  // after the cut (the watch had opened: reset)
  f.AdvanceUntilRequest(milliseconds(250));  // after the oversized event
  REQUIRE(WaitFor([&] { return f.http.Requests() == 5; }));
  const std::vector<std::string> paths = f.http.Paths();
  CHECK(paths[2].find("resourceVersion=12&") != std::string::npos);  // the last good event
  CHECK(paths[3].find("resourceVersion=14&") != std::string::npos);
  CHECK(paths[4].find("resourceVersion=14&") != std::string::npos);
  CHECK(f.Ips() == std::vector<std::string>{"a=10.0.0.1", "b=10.0.0.2", "c=10.0.0.3"});
  const ResourceStats s = f.store.Stats();
  CHECK(s.rejected == 2);  // a (its last good version stays) and bad
  CHECK(s.errors[static_cast<int>(ErrorKind::kInvalidObject)] == 2);
  CHECK(s.errors[static_cast<int>(ErrorKind::kDecode)] == 1);
  CHECK(s.errors[static_cast<int>(ErrorKind::kDropped)] == 1);
  CHECK(s.errors[static_cast<int>(ErrorKind::kTooLarge)] == 1);
  CHECK(s.watch_restarts[static_cast<int>(WatchEnd::kDropped)] == 1);
  CHECK(s.watch_restarts[static_cast<int>(WatchEnd::kError)] == 2);
}

TEST_CASE("reflector: an expired continue token starts the LIST from its first page",
          "[unit][kube]") {
  Fixture f;
  f.http.Add(
      {200,
       {ListPage({NodeJson("a", "10.0.0.1", "3"), NodeJson("b", "10.0.0.2", "4")}, "10", "c1")}});
  f.http.Add({410, {R"({"kind":"Status","code":410,"reason":"Expired",
                     "message":"The provided continue parameter is too old"})"}});
  f.http.Add(
      {200,
       {ListPage({NodeJson("a", "10.0.0.1", "3"), NodeJson("b", "10.0.0.2", "4")}, "20", "c2")}});
  f.http.Add({200, {ListPage({NodeJson("c", "10.0.0.3", "15")}, "20")}});
  f.Start();
  REQUIRE(WaitFor([&] { return f.http.Requests() == 5; }));
  const std::vector<std::string> paths = f.http.Paths();
  CHECK(paths[1] == "/api/v1/nodes?limit=2&continue=c1");
  CHECK(paths[2] == "/api/v1/nodes?limit=2");
  CHECK(paths[3] == "/api/v1/nodes?limit=2&continue=c2");
  CHECK(paths[4].find("resourceVersion=20&") != std::string::npos);
  CHECK(f.Ips() == std::vector<std::string>{"a=10.0.0.1", "b=10.0.0.2", "c=10.0.0.3"});
  CHECK(f.changes == 1);  // one complete LIST, never a part of one
}

}  // namespace
}  // namespace cbe::kube
