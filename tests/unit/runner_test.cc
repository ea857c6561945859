#include "exporter/core/runner.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/core/probe_rounds.h"
#include "exporter/core/scheduler.h"
#include "probes/net/stream.h"
#include "probes/tcp_syn_probe.h"
#include "tests/unit/manual_clock.h"

namespace cbe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ManualClock;
using testing::WaitFor;

// Records the clock at each run of a task.
struct Runs {
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> at;
  std::size_t size() {
    std::lock_guard g(mu);
    return at.size();
  }
  void Add(std::chrono::steady_clock::time_point t) {
    std::lock_guard g(mu);
    at.push_back(t);
  }
};

TEST_CASE("scheduler: NextRun keeps a fixed rate, and starts at once after an overrun", "[unit]") {
  const std::chrono::steady_clock::time_point t0{seconds(100)};
  CHECK(NextRun(t0, seconds(30), t0 + seconds(2)) == t0 + seconds(30));
  CHECK(NextRun(t0, seconds(30), t0 + seconds(30)) == t0 + seconds(30));
  CHECK(NextRun(t0, seconds(30), t0 + seconds(45)) == t0 + seconds(45));
}

TEST_CASE("scheduler: a task runs at start, then once per interval of the injected clock",
          "[unit]") {
  ManualClock clock;
  Runs runs;
  PeriodicTask task(
      "t", seconds(10), [&] { runs.Add(clock.Monotonic()); }, &clock);
  const auto t0 = clock.Monotonic();
  task.Start();
  REQUIRE(WaitFor([&] { return runs.size() == 1; }));
  clock.Advance(seconds(9));  // Not yet due.
  clock.Advance(seconds(1));
  REQUIRE(WaitFor([&] { return runs.size() == 2; }));
  clock.Advance(seconds(10));
  REQUIRE(WaitFor([&] { return runs.size() == 3; }));
  task.Stop();
  CHECK(runs.at == std::vector{t0, t0 + seconds(10), t0 + seconds(20)});
}

// What `look` returns on the thread of a task named "bird" with `policy`, at its first run.
template <typename T>
T SeenInsideTask(ThreadPolicy policy, std::function<T()> look) {
  ManualClock clock;
  std::mutex mu;
  std::optional<T> seen;
  PeriodicTask task(
      "bird", seconds(10),
      [&] {
        T value = look();
        std::lock_guard lock(mu);
        seen = std::move(value);
      },
      &clock, policy);
  task.Start();
  REQUIRE(WaitFor([&] {
    std::lock_guard lock(mu);
    return seen.has_value();
  }));
  task.Stop();
  return *seen;
}

TEST_CASE("scheduler: a task's thread is named after it, within Linux's 15 bytes", "[unit]") {
  CHECK(RoundThreadName("bird") == "round-bird");
  CHECK(RoundThreadName("listener") == "round-listener");
  CHECK(RoundThreadName("a-long-task-name") == "round-a-long-ta");
  const std::string name = SeenInsideTask<std::string>(ThreadPolicy::kNormal, [] {
    char text[16] = {};
    pthread_getname_np(pthread_self(), text, sizeof text);
    return std::string(text);
  });
  CHECK(name == "round-bird");
}

TEST_CASE("scheduler: a kBatch task's thread runs SCHED_BATCH, the others the default policy",
          "[unit]") {
  const auto policy_of = [](ThreadPolicy policy) {
    return SeenInsideTask<int>(policy, [] { return sched_getscheduler(0); });
  };
  CHECK(policy_of(ThreadPolicy::kBatch) == SCHED_BATCH);
  CHECK(policy_of(ThreadPolicy::kNormal) == SCHED_OTHER);
  // The thread that started them keeps its own.
  CHECK(sched_getscheduler(0) == SCHED_OTHER);
}

TEST_CASE("scheduler: RunSoon runs again without waiting, and the rate counts from there",
          "[unit]") {
  ManualClock clock;
  Runs runs;
  PeriodicTask task(
      "t", seconds(30), [&] { runs.Add(clock.Monotonic()); }, &clock);
  const auto t0 = clock.Monotonic();
  task.Start();
  REQUIRE(WaitFor([&] { return runs.size() == 1; }));
  clock.Advance(seconds(5));
  task.RunSoon();
  REQUIRE(WaitFor([&] { return runs.size() == 2; }));
  clock.Advance(seconds(30));
  REQUIRE(WaitFor([&] { return runs.size() == 3; }));
  task.Stop();
  CHECK(runs.at == std::vector{t0, t0 + seconds(5), t0 + seconds(35)});
}

TEST_CASE("scheduler: Stop wakes a waiting task at once; a throwing task keeps its schedule",
          "[unit]") {
  ManualClock clock;
  std::atomic<int> calls{0};
  PeriodicTask task(
      "t", std::chrono::hours(1),
      [&] {
        ++calls;
        throw std::runtime_error("boom");
      },
      &clock);
  task.Start();
  REQUIRE(WaitFor([&] { return calls == 1; }));
  clock.Advance(std::chrono::hours(1));
  REQUIRE(WaitFor([&] { return calls == 2; }));
  task.RequestStop();
  CHECK(task.WaitStopped(std::chrono::steady_clock::now() + seconds(10)));
}

// A probe table of fakes: "bird" publishes a BIRD snapshot with the peers the test sets,
// "tcp" (probes peers) and "listener" (does not) count their runs; "bird" runs kBatch.
struct FakeKinds {
  static inline std::mutex mu;
  static inline std::vector<std::string> peers;
  static inline std::atomic<int> bird_runs{0};
  static inline std::atomic<int> tcp_runs{0};
  static inline std::atomic<int> listener_runs{0};
  static inline std::atomic<int> tcp_clears{0};
  // The scheduling policy of the last run's thread (sched_getscheduler).
  static inline std::atomic<int> bird_policy{-1};
  static inline std::atomic<int> tcp_policy{-1};

  static void Reset() {
    std::lock_guard g(mu);
    peers.clear();
    bird_runs = 0;
    tcp_runs = 0;
    listener_runs = 0;
    tcp_clears = 0;
    bird_policy = -1;
    tcp_policy = -1;
  }
  static void SetPeers(std::vector<std::string> p) {
    std::lock_guard g(mu);
    peers = std::move(p);
  }
  static void Bird(const Rounds&, SnapshotStore* store) {
    auto b = std::make_shared<BirdSnapshot>();
    DaemonSnapshot d;
    d.daemon = "bird";
    d.up = true;
    {
      std::lock_guard g(mu);
      for (const auto& p : peers) {
        PeerSnapshot s;
        s.protocol = "Mesh_" + p;
        s.peer = p;
        d.peers.push_back(s);
      }
    }
    b->daemons.push_back(d);
    store->Publish(&Snapshot::bird, std::shared_ptr<const BirdSnapshot>(b));
    bird_policy = sched_getscheduler(0);
    ++bird_runs;
  }
  static void Tcp(const Rounds&, SnapshotStore*) {
    tcp_policy = sched_getscheduler(0);
    ++tcp_runs;
  }
  static void Listener(const Rounds&, SnapshotStore*) { ++listener_runs; }
  static void Clear(SnapshotStore*) {}
  static void ClearTcp(SnapshotStore*) { ++tcp_clears; }
  static const ProbeRun* None(const Snapshot&) { return nullptr; }
};

const ProbeKind kFakeKinds[] = {
    {"bird", [](const Config&) { return true; }, [](const Config&) { return milliseconds(5000); },
     FakeKinds::Bird, FakeKinds::Clear, FakeKinds::None, true, false, false, ThreadPolicy::kBatch},
    {"tcp", [](const Config& c) { return c.probes.Get<probes::TcpSettings>().enabled; },
     [](const Config&) { return milliseconds(30000); }, FakeKinds::Tcp, FakeKinds::ClearTcp,
     FakeKinds::None, false, true, true, ThreadPolicy::kNormal},
    {"listener", [](const Config&) { return true; },
     [](const Config&) { return milliseconds(30000); }, FakeKinds::Listener, FakeKinds::Clear,
     FakeKinds::None, false, false, true, ThreadPolicy::kNormal},
};

class NoConnector final : public net::StreamConnector {
 public:
  Result<std::unique_ptr<net::Stream>> Connect(const std::string&, net::Deadline) override {
    return Error{"no BIRD in this test"};
  }
};

TEST_CASE("runner: a peer BIRD reports for the first time is probed at once", "[unit]") {
  FakeKinds::Reset();
  FakeKinds::SetPeers({"10.0.0.1"});
  ManualClock clock;
  SnapshotStore store;
  NoConnector connector;
  Runner runner(Config{}, &store, &clock, &connector, kFakeKinds);
  runner.Start();
  // The first BIRD round names a peer: the peer probe runs again right after it, the
  // listener (no peers) does not.
  REQUIRE(WaitFor([] {
    return FakeKinds::bird_runs == 1 && FakeKinds::tcp_runs == 2 && FakeKinds::listener_runs == 1;
  }));
  // Same peers: BIRD's next round triggers nothing.
  clock.Advance(seconds(5));
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 2; }));
  // A node joins: probed within BIRD's round, not 30 s later.
  FakeKinds::SetPeers({"10.0.0.1", "10.0.0.2"});
  clock.Advance(seconds(5));
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 3 && FakeKinds::tcp_runs == 3; }));
  // The diagnosis is derived with each publication.
  REQUIRE(store.Get()->diagnosis);
  CHECK(store.Get()->diagnosis->peers.size() == 2);
  // A node leaves: nothing to probe at once. Back in the next round, it is probed at once again.
  FakeKinds::SetPeers({"10.0.0.1"});
  clock.Advance(seconds(5));
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 4; }));
  FakeKinds::SetPeers({"10.0.0.1", "10.0.0.2"});
  clock.Advance(seconds(5));
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 5 && FakeKinds::tcp_runs == 4; }));
  runner.Stop();
  CHECK(FakeKinds::tcp_runs == 4);
  CHECK(FakeKinds::listener_runs == 1);
  // Each round's thread runs with its kind's policy.
  CHECK(FakeKinds::bird_policy == SCHED_BATCH);
  CHECK(FakeKinds::tcp_policy == SCHED_OTHER);
}

TEST_CASE("runner: a kind the reloaded config disables is cleared and runs no more", "[unit]") {
  FakeKinds::Reset();
  ManualClock clock;
  SnapshotStore store;
  NoConnector connector;
  Config config;
  config.probes.Mutable<probes::TcpSettings>().enabled = true;
  Runner runner(config, &store, &clock, &connector, kFakeKinds);
  runner.Start();
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 1 && FakeKinds::tcp_runs == 1; }));
  Config off = config;
  off.probes.Mutable<probes::TcpSettings>().enabled = false;
  runner.Reconfigure(off);
  CHECK(FakeKinds::tcp_clears == 1);
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs == 2; }));  // Restarted: BIRD runs at once.
  clock.Advance(seconds(60));
  REQUIRE(WaitFor([] { return FakeKinds::bird_runs >= 3; }));
  runner.Stop();
  CHECK(FakeKinds::tcp_runs == 1);
}

TEST_CASE("probe table: one row per kind, BIRD first, names as the probe label", "[unit]") {
  std::vector<std::string> names;
  for (const ProbeKind& k : ProbeKinds()) {
    names.emplace_back(k.name);
  }
  CHECK(names ==
        std::vector<std::string>{"bird", "tcp", "icmp", "mtu", "listener", "clock", "intent"});
  CHECK(ProbeKinds()[0].discovers_peers);
  Config c;
  c.probes.Mutable<probes::TcpSettings>().enabled = false;
  for (const ProbeKind& k : ProbeKinds()) {
    CAPTURE(k.name);
    // tcp switched off here; intent is off without a URL (the default).
    CHECK(k.enabled(c) == (k.name != "tcp" && k.name != "intent"));
    CHECK(k.last_run(Snapshot{}) == nullptr);
  }
}

TEST_CASE("probe table: rounds every 30 s or more give their memory back; BIRD's reuses it",
          "[unit]") {
  for (const ProbeKind& k : ProbeKinds()) {
    CAPTURE(k.name);
    CHECK(k.releases_memory == (k.name != "bird"));
  }
}

TEST_CASE("probe table: only BIRD's round runs SCHED_BATCH; the probes time packets and clocks",
          "[unit]") {
  for (const ProbeKind& k : ProbeKinds()) {
    CAPTURE(k.name);
    CHECK((k.policy == ThreadPolicy::kBatch) == (k.name == "bird"));
  }
}

TEST_CASE("probe table: a prober's row follows its settings and its part of the snapshot",
          "[unit]") {
  SnapshotStore store;
  std::size_t rows = 0;
  for (const ProbeKind& k : ProbeKinds()) {
    const std::size_t i = probes::ProberIndex(k.name);
    if (i == probes::Probers().size()) {
      continue;  // bird, clock, intent: rounds of the exporter itself.
    }
    CAPTURE(k.name);
    ++rows;
    Config c;
    CHECK(k.enabled(c));
    auto settings = probes::Probers()[i]->DefaultSettings();
    settings->enabled = false;
    settings->interval = seconds(9);
    c.probes.set_settings(i, settings);
    CHECK_FALSE(k.enabled(c));
    CHECK(k.interval(c) == seconds(9));
    CHECK(k.probes_peers == probes::Probers()[i]->ProbesPeers());
    auto result = std::make_shared<probes::ProbeResult>();
    result->run.probe = std::string(k.name);
    store.PublishProbe(i, result);
    CHECK(k.last_run(*store.Get()) == &result->run);
    k.clear(&store);
    CHECK(k.last_run(*store.Get()) == nullptr);
  }
  CHECK(rows == probes::Probers().size());
}

TEST_CASE("probe targets: BIRD's neighbours and the static peers, once each", "[unit]") {
  auto b = std::make_shared<BirdSnapshot>();
  DaemonSnapshot d;
  PeerSnapshot p;
  p.peer = "10.0.0.1";
  p.up = false;
  d.peers.push_back(p);
  p.peer = "fe80::1%eth0";  // Link-local with scope: the scope is dropped.
  p.up = true;
  d.peers.push_back(p);
  p.peer = "10.0.0.1";  // A second session to the same address, Established.
  p.up = true;
  d.peers.push_back(p);
  p.peer = "not an address";
  d.peers.push_back(p);
  b->daemons.push_back(d);
  Snapshot s;
  s.bird = b;
  std::vector<StaticPeer> statics(2);
  statics[0].address = "10.0.0.9";
  statics[1].address = "10.0.0.1";
  const auto targets = ProbeTargets(s, statics);
  REQUIRE(targets.size() == 3);
  CHECK(targets[0].ip.ToString() == "10.0.0.1");
  CHECK(targets[0].established);  // Any session to it Established.
  CHECK(targets[1].ip.ToString() == "fe80::1");
  CHECK(targets[1].established);
  CHECK(targets[2].ip.ToString() == "10.0.0.9");
  CHECK_FALSE(targets[2].established);
  CHECK(ProbeTargets(Snapshot{}, {}).empty());
}

}  // namespace
}  // namespace cbe
