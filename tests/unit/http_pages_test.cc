#include "exporter/web/http_pages.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "exporter/core/diagnosis.h"

namespace cbe {
namespace {

using std::chrono::seconds;

// A wall clock the test sets; the pages read only Now().
class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return now; }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }
  std::chrono::system_clock::time_point now{seconds(1795650000)};  // 2026-11-25 23:40:00Z
};

double UnixOf(const ManualClock& clock) { return ToUnixSeconds(clock.now); }

constexpr std::chrono::milliseconds kBirdInterval{5000};
// 3 intervals plus a minute: what /healthz allows between BIRD rounds with this interval.
constexpr seconds kAllowed{75};

TEST_CASE("HtmlEscape: the five characters HTML gives meaning to, nothing else", "[unit]") {
  CHECK(HtmlEscape("") == "");
  CHECK(HtmlEscape("Mesh_10_0_0_1 BGP Error: Hold timer expired") ==
        "Mesh_10_0_0_1 BGP Error: Hold timer expired");
  CHECK(HtmlEscape("<") == "&lt;");
  CHECK(HtmlEscape(">") == "&gt;");
  CHECK(HtmlEscape("&") == "&amp;");
  CHECK(HtmlEscape("\"") == "&quot;");
  CHECK(HtmlEscape("'") == "&#39;");
  CHECK(HtmlEscape("<a href=\"x\" title='y'>&amp;</a>") ==
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  CHECK(HtmlEscape("fd00::1 \xc3\xa9") == "fd00::1 \xc3\xa9");  // UTF-8 passes through.
}

// A snapshot whose peer-supplied texts (BIRD's error, protocol and peer names, the daemon
// message) carry markup.
std::shared_ptr<const BirdSnapshot> HostileBird(double last_run) {
  auto b = std::make_shared<BirdSnapshot>();
  DaemonSnapshot down;
  down.daemon = "bird6";
  down.socket = "/var/run/calico/bird6.ctl";
  down.up = false;
  down.error = "connect: <script>alert(1)</script>";
  b->daemons.push_back(down);
  DaemonSnapshot up;
  up.daemon = "bird";
  up.socket = "/var/run/calico/bird.ctl";
  up.up = true;
  up.version = "2.0.12";
  up.router_id = "10.0.0.5";
  up.daemon_message = "Daemon is up and running <b>";
  PeerSnapshot p;
  p.protocol = "Mesh_<i>\"x\"";
  p.peer = "10.0.0.2'><script>";
  p.peer_type = "node_mesh";
  p.state = "Active";
  p.error_class = "BGP Error";
  p.error_message = "Bad peer AS <script>alert('&')</script>";
  up.peers.push_back(p);
  b->daemons.push_back(up);
  b->run = ProbeRun{"bird", false, 0.0126, last_run};
  return b;
}

TEST_CASE("landing page: peer-supplied text comes out escaped", "[unit]") {
  ManualClock clock;
  SnapshotStore store;
  store.Publish(&Snapshot::bird, HostileBird(UnixOf(clock) - 5));
  const HttpPages pages({"/metrics", kBirdInterval}, &store, &clock);
  const std::string body = pages.LandingPage();

  CHECK(body.find("<script") == std::string::npos);
  CHECK(body.find("<b>") == std::string::npos);
  CHECK(body.find("<i>") == std::string::npos);
  CHECK(body.find("BIRD is down: connect: &lt;script&gt;alert(1)&lt;/script&gt;</p>") !=
        std::string::npos);
  CHECK(body.find("<td>Mesh_&lt;i&gt;&quot;x&quot;</td><td>10.0.0.2&#39;&gt;&lt;script&gt;</td>") !=
        std::string::npos);
  CHECK(body.find("<td>BGP Error: Bad peer AS &lt;script&gt;alert(&#39;&amp;&#39;)&lt;/script&gt;"
                  "</td>") != std::string::npos);
  CHECK(body.find("Daemon is up and running &lt;b&gt;</p>") != std::string::npos);
}

TEST_CASE("landing page: times from the injected clock", "[unit]") {
  ManualClock clock;
  SnapshotStore store;
  const HttpPages pages({"/metrics", kBirdInterval}, &store, &clock);
  CHECK(pages.LandingPage().find("The first BIRD round has not finished yet.") !=
        std::string::npos);

  store.Publish(&Snapshot::bird, HostileBird(UnixOf(clock) - 5));
  clock.now += seconds(60);
  const std::string body = pages.LandingPage();
  CHECK(body.find("<p>Last rounds: bird 1m5s ago (13 ms, failed); 2026-11-25 23:41:00Z.</p>") !=
        std::string::npos);
}

TEST_CASE("healthz: 200 until the first BIRD round is overdue, then 503", "[unit]") {
  ManualClock clock;
  SnapshotStore store;
  const HttpPages pages({"/metrics", kBirdInterval}, &store, &clock);
  CHECK(pages.Health() == std::pair<int, std::string>{200, "ok\n"});
  clock.now += kAllowed;  // No round since the start, but not yet overdue.
  CHECK(pages.Health().first == 200);
  clock.now += seconds(1);
  CHECK(pages.Health() ==
        std::pair<int, std::string>{503, "BIRD rounds stalled: the last one finished 1m16s ago\n"});
}

TEST_CASE("healthz: 200 while BIRD rounds finish, 503 once the last one is too old", "[unit]") {
  ManualClock clock;
  SnapshotStore store;
  const HttpPages pages({"/metrics", kBirdInterval}, &store, &clock);
  clock.now += std::chrono::hours(1);  // Long after the start: only the round's time counts.
  const double now = UnixOf(clock);
  // A failed round is still a round: /healthz asks whether rounds run, not whether BIRD is up.
  store.Publish(&Snapshot::bird, HostileBird(now - 1));
  CHECK(pages.Health() == std::pair<int, std::string>{200, "ok\n"});
  store.Publish(&Snapshot::bird, HostileBird(now - static_cast<double>(kAllowed.count())));
  CHECK(pages.Health().first == 200);
  store.Publish(&Snapshot::bird, HostileBird(now - static_cast<double>(kAllowed.count()) - 1));
  CHECK(pages.Health() ==
        std::pair<int, std::string>{503, "BIRD rounds stalled: the last one finished 1m16s ago\n"});

  // The allowance follows the BIRD interval: 3 x 30 s + 60 s.
  const HttpPages slow({"/metrics", std::chrono::seconds(30)}, &store, &clock);
  CHECK(slow.Health().first == 200);
  store.Publish(&Snapshot::bird, HostileBird(now - 151));
  CHECK(slow.Health().first == 503);
}

}  // namespace
}  // namespace cbe
