// The core issue end to end: real BIRD 1.6 and BIRD 2 daemons in network namespaces (lab.sh),
// the exporter inside node a's namespace, assertions on GET /metrics. Every wait polls with a
// deadline; the lab and the exporter are torn down even when an assertion fails.

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "lab.h"
#include "probes/bird/client.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;
using std::chrono::milliseconds;

// Each namespace has its own loopback, so a fixed port cannot collide with other labs.
constexpr int kExporterPort = 9842;
constexpr milliseconds kExporterReadyDeadline = 15s;
// Sessions settle in ~1 s (see README.md); the generous deadline absorbs a loaded machine.
constexpr milliseconds kSettleDeadline = 40s;
constexpr milliseconds kStateDeadline = 15s;
// interval 1s + timeout 1s: BIRD being gone must show within two rounds.
constexpr milliseconds kBirdDownDeadline = 5s;
constexpr double kTimestampSlackSeconds = 5.0;

double WallSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string OptionalText(const std::optional<double>& value) {
  if (!value.has_value()) {
    return "(absent)";
  }
  std::ostringstream text;
  text.precision(15);
  text << *value;
  return text.str();
}

std::string WriteExporterConfig(const Lab& lab) {
  std::string sockets = lab.SocketPath("a");
  if (lab.Flavour() == BirdFlavour::kBird1) {
    sockets += ", " + lab.SocketPath("a", /*v6=*/true);
  }
  std::string yaml = "bird:\n";
  yaml += "  sockets: [" + sockets + "]\n";
  yaml += "  interval: 1s\n";
  yaml += "  timeout: 1s\n";
  yaml += "metrics:\n  extra: [timers]\n";  // The negotiated timers are checked below.
  return lab.WriteFile("exporter.yaml", yaml);
}

std::string LabelsText(const Labels& labels) {
  std::string text = "{";
  for (const auto& [key, value] : labels) {
    if (text.size() > 1) {
      text += ",";
    }
    text += key + "=\"" + value + "\"";
  }
  return text + "}";
}

// A lab plus the exporter watching node a, and the latest scrape.
class Scenario {
 public:
  explicit Scenario(BirdFlavour flavour)
      : lab_(flavour),
        exporter_(lab_.Netns("a"), WriteExporterConfig(lab_), kExporterPort,
                  lab_.Dir() + "/exporter.log") {}

  Lab& lab() { return lab_; }
  ExporterProcess& exporter() { return exporter_; }
  const std::string& last() const { return last_; }
  bool last_ok() const { return last_ok_; }
  bool bird1() const { return lab_.Flavour() == BirdFlavour::kBird1; }

  // One GET /metrics. A failed scrape is remembered as a text that matches no series.
  const std::string& Scrape() {
    try {
      last_ = exporter_.Get("/metrics");
      last_ok_ = true;
    } catch (const std::exception& e) {
      last_ = std::string("(scrape failed: ") + e.what() + ")";
      last_ok_ = false;
    }
    return last_;
  }

  // Scrapes every ~100 ms until pred(exposition) holds or the deadline passes.
  template <class F>
  bool WaitFor(milliseconds deadline, F pred) {
    return PollUntil(deadline, [&] { return pred(Scrape()) && last_ok_; });
  }

  bool WaitForValue(const std::string& name, const Labels& labels, double want,
                    milliseconds deadline) {
    return WaitFor(deadline, [&](const std::string& exposition) {
      const std::optional<double> value = MetricValue(exposition, name, labels);
      return value.has_value() && *value == want;
    });
  }

  // Passes, or fails the test case with what was expected, the /metrics lines that contain
  // `needle`, the end of the exporter log and every daemon's `show protocols`.
  void Require(bool ok, const std::string& what, std::string_view needle) {
    if (ok) {
      SUCCEED(what);
      return;
    }
    std::ostringstream message;
    message << "expected: " << what << "\n--- last /metrics lines containing '" << needle
            << "' (scrape " << (last_ok_ ? "ok" : "FAILED") << "):\n"
            << (last_ok_ ? GrepLines(last_, needle) : last_) << "--- exporter log ("
            << exporter_.LogFile() << "), process " << (exporter_.Running() ? "running" : "EXITED")
            << ":\n"
            << exporter_.LogTail() << "\n--- lab " << lab_.Prefix() << " (" << lab_.Dir() << "):\n"
            << lab_.Status();
    FAIL(message.str());
  }

  void RequireValue(const std::string& name, const Labels& labels, double want,
                    milliseconds deadline, std::string_view needle) {
    std::ostringstream what;
    what << name << LabelsText(labels) << " == " << want << " within " << deadline.count() << " ms";
    Require(WaitForValue(name, labels, want, deadline), what.str(), needle);
  }

 private:
  Lab lab_;  // constructed first, destroyed last: `lab.sh down` runs after the exporter stops
  ExporterProcess exporter_;
  std::string last_;
  bool last_ok_ = false;
};

void RunCoreScenario(BirdFlavour flavour) {
  const auto lab_start = std::chrono::system_clock::now();
  Scenario s(flavour);
  INFO(FlavourName(flavour) << " lab " << s.lab().Prefix() << " in " << s.lab().Dir());
  const std::string v6_daemon = s.bird1() ? "bird6" : "bird";

  s.Require(s.exporter().WaitReady(kExporterReadyDeadline), "the exporter answers GET /metrics",
            "calico_bgp_");

  // The daemons.
  s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird"}}, 1, kSettleDeadline, "_bird_");
  if (s.bird1()) {
    s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird6"}}, 1, kSettleDeadline, "_bird_");
  }
  const std::string version_prefix = s.bird1() ? "1.6" : "2.";
  s.Require(s.WaitFor(kStateDeadline,
                      [&](const std::string& exposition) {
                        for (const auto& sample :
                             FindSamples(exposition, "calico_bgp_bird_info",
                                         {{"daemon", "bird"}, {"router_id", "10.99.0.5"}})) {
                          const auto version = sample.labels.find("version");
                          if (sample.value == 1 && version != sample.labels.end() &&
                              version->second.rfind(version_prefix, 0) == 0) {
                            return true;
                          }
                        }
                        return false;
                      }),
            "calico_bgp_bird_info{daemon=\"bird\",version=\"" + version_prefix +
                "...\",router_id=\"10.99.0.5\"} == 1",
            "calico_bgp_bird_info");

  // A healthy iBGP mesh peer (a connects out).
  const Labels mesh_b = {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}};
  s.RequireValue("calico_bgp_peer_up",
                 {{"daemon", "bird"},
                  {"protocol", "Mesh_10_99_0_1"},
                  {"peer", "10.99.0.1"},
                  {"peer_type", "node_mesh"}},
                 1, kSettleDeadline, "Mesh_10_99_0_1");
  const auto first_seen = std::chrono::system_clock::now();
  s.RequireValue("calico_bgp_peer_state",
                 {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}, {"state", "Established"}}, 1,
                 kStateDeadline, "Mesh_10_99_0_1");
  {
    // It came up after the lab was created and before we saw it (1.6 prints whole seconds).
    const std::optional<double> since =
        MetricValue(s.last(), "calico_bgp_peer_state_change_timestamp_seconds", mesh_b);
    CAPTURE(WallSeconds(lab_start), WallSeconds(first_seen), OptionalText(since));
    s.Require(since.has_value() && *since >= WallSeconds(lab_start) - 2.0 &&
                  *since <= WallSeconds(first_seen) + 2.0,
              "calico_bgp_peer_state_change_timestamp_seconds{protocol=\"Mesh_10_99_0_1\"} "
              "between lab start and first sight of Established",
              "calico_bgp_peer_state_change_timestamp_seconds");
  }
  Labels info = {{"protocol", "Mesh_10_99_0_1"},
                 {"neighbor_as", "64512"},
                 {"neighbor_router_id", "10.99.0.1"},
                 {"session", "ibgp"}};
  if (!s.bird1()) {
    info["local_as"] = "64512";  // BIRD 1.6 does not print the local AS
  }
  s.RequireValue("calico_bgp_peer_info", info, 1, kStateDeadline, "calico_bgp_peer_info");
  s.RequireValue("calico_bgp_peer_hold_time_seconds", mesh_b, 240, kStateDeadline, "_time_seconds");
  s.RequireValue("calico_bgp_peer_keepalive_time_seconds", mesh_b, 80, kStateDeadline,
                 "_time_seconds");
  s.Require(s.WaitFor(kStateDeadline,
                      [&](const std::string& exposition) {
                        const auto routes =
                            MetricValue(exposition, "calico_bgp_peer_routes",
                                        {{"protocol", "Mesh_10_99_0_1"}, {"route", "imported"}});
                        return routes.has_value() && *routes >= 0;
                      }),
            "calico_bgp_peer_routes{protocol=\"Mesh_10_99_0_1\",route=\"imported\"} >= 0",
            "calico_bgp_peer_routes");

  // IPv6 mesh peer: bird6 (1.6) or the same daemon (2).
  s.RequireValue("calico_bgp_peer_up",
                 {{"daemon", v6_daemon}, {"protocol", "Mesh_fd00_99__1"}, {"peer", "fd00:99::1"}},
                 1, kSettleDeadline, "Mesh_fd00_99__1");

  // Peer's BIRD stopped: connection refused.
  s.RequireValue("calico_bgp_peer_up", {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_2"}}, 0,
                 kStateDeadline, "Mesh_10_99_0_2");
  s.RequireValue(
      "calico_bgp_peer_last_error_info",
      {{"protocol", "Mesh_10_99_0_2"}, {"class", "Socket"}, {"message", "Connection refused"}}, 1,
      kSettleDeadline, "Mesh_10_99_0_2");

  // Wrong AS configured on a. The last error flips to "Socket: Connection reset by peer" for
  // about a second on each retry, so this waits until it is seen.
  s.RequireValue("calico_bgp_peer_up",
                 {{"daemon", "bird"}, {"protocol", "Global_10_99_0_4"}, {"peer_type", "global"}}, 0,
                 kStateDeadline, "Global_10_99_0_4");
  s.RequireValue(
      "calico_bgp_peer_last_error_info",
      {{"protocol", "Global_10_99_0_4"}, {"class", "BGP Error"}, {"message", "Bad peer AS"}}, 1,
      kSettleDeadline, "Global_10_99_0_4");

  // f uses a's router id.
  s.RequireValue("calico_bgp_peer_last_error_info",
                 {{"protocol", "Mesh_10_99_0_6"}, {"message", "Bad BGP identifier"}}, 1,
                 kSettleDeadline, "Mesh_10_99_0_6");

  // Protocol disabled on a (g connects in, a is passive).
  const Labels mesh_g = {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_7"}};
  s.RequireValue("calico_bgp_peer_up", mesh_g, 1, kSettleDeadline, "Mesh_10_99_0_7");
  const std::string disabled = s.lab().Birdc("a", "disable Mesh_10_99_0_7");
  CAPTURE(disabled);
  REQUIRE(disabled.find("disabled") != std::string::npos);
  s.RequireValue("calico_bgp_peer_state",
                 {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_7"}, {"state", "Down"}}, 1,
                 kStateDeadline, "Mesh_10_99_0_7");
  s.RequireValue("calico_bgp_peer_up", mesh_g, 0, kStateDeadline, "Mesh_10_99_0_7");

  // State change timestamp of a transition the test watches: restart the session and note
  // when the exporter first shows it Established again.
  {
    const auto restart_time = std::chrono::system_clock::now();
    const std::string restarted = s.lab().Birdc("a", "restart Mesh_10_99_0_1");
    CAPTURE(restarted);
    REQUIRE(restarted.find("restarted") != std::string::npos);
    std::optional<double> since;
    const bool seen = s.WaitFor(kSettleDeadline, [&](const std::string& exposition) {
      since = MetricValue(exposition, "calico_bgp_peer_state_change_timestamp_seconds", mesh_b);
      const auto established = MetricValue(
          exposition, "calico_bgp_peer_state",
          {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}, {"state", "Established"}});
      return established == 1.0 && since.has_value() && *since >= WallSeconds(restart_time) - 1.5;
    });
    const double seen_at = WallSeconds(std::chrono::system_clock::now());
    CAPTURE(WallSeconds(restart_time), seen_at, OptionalText(since));
    s.Require(seen, "Mesh_10_99_0_1 Established again with a state change after the restart",
              "Mesh_10_99_0_1");
    s.Require(since.has_value() && std::fabs(*since - seen_at) <= kTimestampSlackSeconds,
              "calico_bgp_peer_state_change_timestamp_seconds{protocol=\"Mesh_10_99_0_1\"} "
              "within 5 s of the moment the test saw Established",
              "calico_bgp_peer_state_change_timestamp_seconds");
  }

  // A peer that disappears from the config: its series vanish.
  const Labels gone = {{"protocol", "Mesh_10_99_0_8"}};
  s.Require(s.WaitFor(kStateDeadline,
                      [&](const std::string& exposition) {
                        return !FindSamples(exposition, "calico_bgp_peer_up", gone).empty();
                      }),
            "series for Mesh_10_99_0_8 before it is removed", "Mesh_10_99_0_8");
  s.lab().RemoveProtocol("a", "Mesh_10_99_0_8");
  s.Require(s.WaitFor(kStateDeadline,
                      [&](const std::string& exposition) {
                        return FindSamples(exposition, "", gone).empty() &&
                               MetricValue(exposition, "calico_bgp_peer_up", mesh_b).has_value();
                      }),
            "no series with protocol=\"Mesh_10_99_0_8\" after `birdc configure` removed it "
            "(Mesh_10_99_0_1 still there)",
            "Mesh_10_99_0_");
}

void RunBirdRestartScenario(BirdFlavour flavour) {
  Scenario s(flavour);
  INFO(FlavourName(flavour) << " lab " << s.lab().Prefix() << " in " << s.lab().Dir());
  const Labels established = {
      {"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}, {"state", "Established"}};

  s.Require(s.exporter().WaitReady(kExporterReadyDeadline), "the exporter answers GET /metrics",
            "calico_bgp_");
  s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird"}}, 1, kSettleDeadline, "_bird_");
  s.RequireValue("calico_bgp_peer_state", established, 1, kSettleDeadline, "Mesh_10_99_0_1");
  const pid_t exporter_pid = s.exporter().Pid();

  // SIGKILL: the socket file stays, connect() gets ECONNREFUSED.
  s.lab().BirdKill("a");
  s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird"}}, 0, kBirdDownDeadline, "_bird_");
  s.Scrape();
  s.Require(s.last_ok(), "/metrics still answers 200 while BIRD is down", "calico_bgp_bird_");
  if (s.bird1()) {
    s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird6"}}, 1, kBirdDownDeadline, "_bird_");
  }

  s.lab().BirdStart("a");
  s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird"}}, 1, kStateDeadline, "_bird_");
  s.RequireValue("calico_bgp_peer_state", established, 1, kSettleDeadline, "Mesh_10_99_0_1");
  CHECK(s.exporter().Running());
  CHECK(s.exporter().Pid() == exporter_pid);
}

}  // namespace

TEST_CASE("BIRD 1.6: session states reach /metrics", "[integration][bird][bird1]") {
  RunCoreScenario(BirdFlavour::kBird1);
}

TEST_CASE("BIRD 2: session states reach /metrics", "[integration][bird][bird2]") {
  RunCoreScenario(BirdFlavour::kBird2);
}

TEST_CASE("BIRD 1.6: killed and restarted under a running exporter", "[integration][bird][bird1]") {
  RunBirdRestartScenario(BirdFlavour::kBird1);
}

TEST_CASE("BIRD 2: killed and restarted under a running exporter", "[integration][bird][bird2]") {
  RunBirdRestartScenario(BirdFlavour::kBird2);
}

}  // namespace cbe::testing

namespace cbe::testing {
namespace {

// Sends `lines` on a fresh connection to a BIRD control socket and returns what came back.
std::string Converse(const std::string& socket_path, const std::vector<std::string>& lines) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string out;
  char buf[4096];
  const auto read_reply = [&] {
    // Each of these replies is one line: read until the newline.
    const std::size_t start = out.size();
    while (out.find('\n', start) == std::string::npos) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      REQUIRE(n > 0);
      out.append(buf, static_cast<std::size_t>(n));
    }
  };
  read_reply();  // Greeting.
  for (const std::string& line : lines) {
    const std::string l = line + "\n";
    REQUIRE(::write(fd, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
    read_reply();
  }
  ::close(fd);
  return out;
}

TEST_CASE("BIRD 1.6: after restrict, BIRD refuses commands that would change it",
          "[integration][bird][bird1]") {
  Lab lab(BirdFlavour::kBird1);
  // What the exporter sends first, then what it never sends: BIRD itself says no.
  const std::string reply = Converse(
      lab.SocketPath("a"), {"restrict", "disable Mesh_10_99_0_1", "configure", "restart all"});
  CAPTURE(reply);
  CHECK(reply.find("0016 Access restricted") != std::string::npos);
  std::size_t denied = 0;
  for (std::size_t pos = reply.find("8007 Access denied"); pos != std::string::npos;
       pos = reply.find("8007 Access denied", pos + 1)) {
    ++denied;
  }
  CHECK(denied == 3);
  // And the exporter's client refuses to send them at all.
  CHECK_FALSE(bird::IsReadOnlyCommand("disable Mesh_10_99_0_1"));
  CHECK_FALSE(bird::IsReadOnlyCommand("configure"));
  CHECK(lab.Birdc("a", "show protocols Mesh_10_99_0_1").find("Mesh_10_99_0_1") !=
        std::string::npos);
}

}  // namespace
}  // namespace cbe::testing
