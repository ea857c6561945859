// The core issue end to end: real BIRD daemons in network namespaces (lab.sh), the exporter
// inside node a's namespace, assertions on GET /metrics. Four flavours: Debian's BIRD 1.6 and
// BIRD 2 with hand-written Calico-style configs, and Calico's own BIRDs with the configs Calico
// renders: the fork (bird + bird6, tag [calico_fork]) and BIRD 3.3.0 (one daemon, `timeformat
// protocol "%F"`, tag [bird3]). Every wait polls with a deadline; the lab and the exporter are
// torn down even when an assertion fails.

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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
// The bound: a state change time within 2 s of the one BIRD itself reports.
constexpr double kSinceAgreementSeconds = 2.0;

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
  if (HasBird6(lab.Flavour())) {
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
                  lab_.Dir() + "/exporter.log"),
        v6_daemon_(HasBird6(flavour) ? "bird6" : "bird") {}

  Lab& lab() { return lab_; }
  ExporterProcess& exporter() { return exporter_; }
  const std::string& last() const { return last_; }
  bool last_ok() const { return last_ok_; }
  // BIRD 1.6 and the fork: bird + bird6, and no local AS in `show protocols all`.
  bool two_daemons() const { return HasBird6(lab_.Flavour()); }
  const std::string& v6_daemon() const { return v6_daemon_; }

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
    if (!ok) {
      FAIL(Explain(what, needle));
    }
    SUCCEED(what);
  }

  // Like Require, but the test case goes on (FAIL_CHECK): for checks after which the rest of
  // the scenario still says something.
  void Check(bool ok, const std::string& what, std::string_view needle) {
    if (!ok) {
      FAIL_CHECK(Explain(what, needle));
      return;
    }
    SUCCEED(what);
  }

  void RequireValue(const std::string& name, const Labels& labels, double want,
                    milliseconds deadline, std::string_view needle) {
    std::ostringstream what;
    what << name << LabelsText(labels) << " == " << want << " within " << deadline.count() << " ms";
    Require(WaitForValue(name, labels, want, deadline), what.str(), needle);
  }

 private:
  std::string Explain(const std::string& what, std::string_view needle) {
    std::ostringstream message;
    message << "expected: " << what << "\n--- last /metrics lines containing '" << needle
            << "' (scrape " << (last_ok_ ? "ok" : "FAILED") << "):\n"
            << (last_ok_ ? GrepLines(last_, needle) : last_) << "--- exporter log ("
            << exporter_.LogFile() << "), process " << (exporter_.Running() ? "running" : "EXITED")
            << ":\n"
            << exporter_.LogTail() << "\n--- lab " << lab_.Prefix() << " (" << lab_.Dir() << "):\n"
            << lab_.Status();
    return message.str();
  }

  Lab lab_;  // constructed first, destroyed last: `lab.sh down` runs after the exporter stops
  ExporterProcess exporter_;
  std::string v6_daemon_;
  std::string last_;
  bool last_ok_ = false;
};

// The version BIRD's greeting gives, per flavour.
std::string VersionPrefix(BirdFlavour flavour) {
  switch (flavour) {
    case BirdFlavour::kBird1:
      return "1.6";
    case BirdFlavour::kBird2:
      return "2.";
    case BirdFlavour::kCalicoFork:
      return "v0.3.3+birdv1.6.8";
    case BirdFlavour::kBird3:
      return "3.3.0";
  }
  return "?";
}

void CheckDaemons(Scenario& s) {
  s.Require(s.exporter().WaitReady(kExporterReadyDeadline), "the exporter answers GET /metrics",
            "calico_bgp_");
  s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird"}}, 1, kSettleDeadline, "_bird_");
  if (s.two_daemons()) {
    s.RequireValue("calico_bgp_bird_up", {{"daemon", "bird6"}}, 1, kSettleDeadline, "_bird_");
  }
  const std::string version_prefix = VersionPrefix(s.lab().Flavour());
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
}

// A healthy iBGP mesh peer (a connects out), and its IPv6 twin.
void CheckMeshPeer(Scenario& s, std::chrono::system_clock::time_point lab_start) {
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
    s.Check(since.has_value() && *since >= WallSeconds(lab_start) - 2.0 &&
                *since <= WallSeconds(first_seen) + 2.0,
            "calico_bgp_peer_state_change_timestamp_seconds{protocol=\"Mesh_10_99_0_1\"} "
            "between lab start and first sight of Established",
            "calico_bgp_peer_state_change_timestamp_seconds");
  }
  Labels info = {{"protocol", "Mesh_10_99_0_1"},
                 {"neighbor_as", "64512"},
                 {"neighbor_router_id", "10.99.0.1"},
                 {"session", "ibgp"}};
  if (!s.two_daemons()) {
    info["local_as"] = "64512";  // BIRD 1.6 (and the fork) does not print the local AS
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

  // IPv6 mesh peer: bird6 (1.6, the fork) or the same daemon (2, 3).
  s.RequireValue(
      "calico_bgp_peer_up",
      {{"daemon", s.v6_daemon()}, {"protocol", "Mesh_fd00_99__1"}, {"peer", "fd00:99::1"}}, 1,
      kSettleDeadline, "Mesh_fd00_99__1");
}

// Refused (c's BIRD never started), wrong AS (on a), duplicate router ID (f).
void CheckFailingPeers(Scenario& s) {
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
}

// Protocol disabled on a (g connects in, a is passive).
void CheckDisable(Scenario& s) {
  const Labels mesh_g = {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_7"}};
  s.RequireValue("calico_bgp_peer_up", mesh_g, 1, kSettleDeadline, "Mesh_10_99_0_7");
  const std::string disabled = s.lab().Birdc("a", "disable Mesh_10_99_0_7");
  CAPTURE(disabled);
  REQUIRE(disabled.find("disabled") != std::string::npos);
  s.RequireValue("calico_bgp_peer_state",
                 {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_7"}, {"state", "Down"}}, 1,
                 kStateDeadline, "Mesh_10_99_0_7");
  s.RequireValue("calico_bgp_peer_up", mesh_g, 0, kStateDeadline, "Mesh_10_99_0_7");
}

// State change timestamp of a transition the test watches: restart the session and note when
// the exporter first shows it Established again.
void CheckRestartTimestamp(Scenario& s) {
  const Labels mesh_b = {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}};
  const auto restart_time = std::chrono::system_clock::now();
  const std::string restarted = s.lab().Birdc("a", "restart Mesh_10_99_0_1");
  CAPTURE(restarted);
  REQUIRE(restarted.find("restarted") != std::string::npos);
  std::optional<double> since;
  const bool seen = s.WaitFor(kSettleDeadline, [&](const std::string& exposition) {
    since = MetricValue(exposition, "calico_bgp_peer_state_change_timestamp_seconds", mesh_b);
    const auto established =
        MetricValue(exposition, "calico_bgp_peer_state",
                    {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}, {"state", "Established"}});
    return established == 1.0 && since.has_value() && *since >= WallSeconds(restart_time) - 1.5;
  });
  const double seen_at = WallSeconds(std::chrono::system_clock::now());
  CAPTURE(WallSeconds(restart_time), seen_at, OptionalText(since));
  s.Check(seen, "Mesh_10_99_0_1 Established again with a state change after the restart",
          "Mesh_10_99_0_1");
  s.Check(since.has_value() && std::fabs(*since - seen_at) <= kTimestampSlackSeconds,
          "calico_bgp_peer_state_change_timestamp_seconds{protocol=\"Mesh_10_99_0_1\"} "
          "within 5 s of the moment the test saw Established",
          "calico_bgp_peer_state_change_timestamp_seconds");
}

// A peer that disappears from the config: its series vanish.
void CheckRemovedPeer(Scenario& s) {
  const Labels mesh_b = {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}};
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

// Reads one reply of BIRD from `fd`: every line up to and including the first `DDDD ` line;
// `pending` keeps what came after it.
std::string ReadBirdReply(int fd, std::string& pending) {
  while (true) {
    for (std::size_t start = 0; start < pending.size();) {
      const std::size_t end = pending.find('\n', start);
      if (end == std::string::npos) {
        break;
      }
      const std::string_view line(pending.data() + start, end - start);
      if (line.size() >= 5 && std::isdigit(static_cast<unsigned char>(line[0])) &&
          std::isdigit(static_cast<unsigned char>(line[3])) && line[4] == ' ') {
        std::string reply = pending.substr(0, end + 1);
        pending.erase(0, end + 1);
        return reply;
      }
      start = end + 1;
    }
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      throw std::runtime_error("BIRD closed the control connection; so far: " + pending);
    }
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

// Sends `lines` on a fresh connection to a BIRD control socket: the greeting, then one reply
// per line.
std::vector<std::string> BirdConversation(const std::string& socket_path,
                                          const std::vector<std::string>& lines) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket(AF_UNIX) failed");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  std::vector<std::string> replies;
  std::string pending;
  try {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("cannot connect to " + socket_path);
    }
    replies.push_back(ReadBirdReply(fd, pending));
    for (const std::string& line : lines) {
      const std::string l = line + "\n";
      if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
        throw std::runtime_error("cannot write to " + socket_path);
      }
      replies.push_back(ReadBirdReply(fd, pending));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return replies;
}

// `HH:MM:SS` of today in this machine's time zone (as BIRD prints it) as Unix time; a time
// later than now is yesterday's.
std::optional<double> TodaysTime(const std::string& text) {
  int h = 0;
  int m = 0;
  int sec = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2d:%2d:%2d%c", &h, &m, &sec, &tail) != 3) {
    return std::nullopt;
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  local.tm_hour = h;
  local.tm_min = m;
  local.tm_sec = sec;
  local.tm_isdst = -1;
  double t = static_cast<double>(std::mktime(&local));
  if (t > static_cast<double>(now) + 60) {
    t -= 86400;
  }
  return t;
}

// The Since column of BGP rows in a `show protocols` reply, as Unix time: exact seconds
// (`timeformat "%s"`) or today's `HH:MM:SS`.
std::map<std::string, double> BgpSince(const std::string& reply) {
  std::map<std::string, double> since;
  std::istringstream lines(reply);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("1002-", 0) == 0) {
      line.erase(0, 5);
    } else if (line.empty() || line[0] != ' ') {
      continue;
    }
    std::istringstream fields(line);
    std::string name;
    std::string proto;
    std::string table;
    std::string state;
    std::string when;
    if (!(fields >> name >> proto >> table >> state >> when) || proto != "BGP") {
      continue;
    }
    if (when.find_first_not_of("0123456789") == std::string::npos) {
      since[name] = std::stod(when);
    } else if (const auto t = TodaysTime(when)) {
      since[name] = *t;
    }
  }
  return since;
}

// Each BGP protocol's state change time as BIRD itself reports it, on a connection of our own:
// BIRD 3 after `timeformat "%s"` (exact seconds whatever the config says); the fork has no
// such command and prints `%T`, which the lab's own date and time zone turn into Unix time.
std::map<std::string, double> BirdOwnSince(const Lab& lab, bool v6) {
  std::vector<std::string> lines = {"restrict"};
  if (lab.Flavour() == BirdFlavour::kBird3) {
    lines.push_back("timeformat \"%s\"");
  }
  lines.push_back("show protocols");
  return BgpSince(BirdConversation(lab.SocketPath("a", v6), lines).back());
}

// Protocols whose exporter timestamp is more than kSinceAgreementSeconds from BIRD's own (or
// missing), as text; empty when all agree.
std::string SinceDisagreements(const std::string& exposition, const std::string& daemon,
                               const std::map<std::string, double>& bird) {
  std::ostringstream out;
  out.precision(15);
  for (const auto& [protocol, bird_since] : bird) {
    const std::optional<double> ours =
        MetricValue(exposition, "calico_bgp_peer_state_change_timestamp_seconds",
                    {{"daemon", daemon}, {"protocol", protocol}});
    if (!ours || std::fabs(*ours - bird_since) > kSinceAgreementSeconds) {
      out << daemon << " " << protocol << ": exporter " << OptionalText(ours) << ", BIRD "
          << bird_since << "\n";
    }
  }
  return out.str();
}

// Every calico_bgp_peer_state_change_timestamp_seconds within 2 s of BIRD's own time. The
// wrong-AS and duplicate-ID sessions move their time on each error cycle, so this polls until
// one scrape and BIRD agree on all of them.
void CheckSinceMatchesBird(Scenario& s) {
  std::string disagreements;
  std::size_t compared = 0;
  const bool agreed = PollUntil(kStateDeadline, [&] {
    const std::string& exposition = s.Scrape();
    disagreements.clear();
    compared = 0;
    for (const bool v6 : {false, true}) {
      if (v6 && !s.two_daemons()) {
        continue;
      }
      const auto bird = BirdOwnSince(s.lab(), v6);
      compared += bird.size();
      disagreements += SinceDisagreements(exposition, v6 ? "bird6" : "bird", bird);
    }
    return s.last_ok() && compared > 0 && disagreements.empty();
  });
  CAPTURE(compared, disagreements);
  s.Check(agreed,
          "every calico_bgp_peer_state_change_timestamp_seconds within 2 s of BIRD's own "
          "(BIRD 3: `timeformat \"%s\"` on a second connection; the fork: its %T on the lab's "
          "date)",
          "calico_bgp_peer_state_change_timestamp_seconds");
}

void CheckNothingUnparsed(Scenario& s) {
  s.Scrape();
  for (const std::string daemon : {"bird", "bird6"}) {
    if (daemon == "bird6" && !s.two_daemons()) {
      continue;
    }
    const auto unparsed =
        MetricValue(s.last(), "calico_bgp_bird_unparsed_lines_total", {{"daemon", daemon}});
    CAPTURE(daemon, OptionalText(unparsed));
    s.Check(unparsed == 0.0, "calico_bgp_bird_unparsed_lines_total{daemon=\"" + daemon + "\"} == 0",
            "calico_bgp_bird_");
  }
}

// The sessions only the Calico-rendered lab has: d drops tcp/179 (Connect, no error), i is a
// ToR in another AS (eBGP, a global BGPPeer), over IPv4 and IPv6.
void CheckCalicoLabSessions(Scenario& s) {
  s.RequireValue("calico_bgp_peer_state",
                 {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_3"}, {"state", "Connect"}}, 1,
                 kSettleDeadline, "Mesh_10_99_0_3");
  s.RequireValue("calico_bgp_peer_up", {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_3"}}, 0,
                 kStateDeadline, "Mesh_10_99_0_3");
  s.RequireValue("calico_bgp_peer_up",
                 {{"daemon", "bird"}, {"protocol", "Global_10_99_0_9"}, {"peer_type", "global"}}, 1,
                 kSettleDeadline, "Global_10_99_0_9");
  Labels tor = {{"protocol", "Global_10_99_0_9"},
                {"neighbor_as", "65009"},
                {"neighbor_router_id", "10.99.0.9"},
                {"session", "ebgp"}};
  if (!s.two_daemons()) {
    tor["local_as"] = "64512";
  }
  s.RequireValue("calico_bgp_peer_info", tor, 1, kStateDeadline, "Global_10_99_0_9");
  s.RequireValue(
      "calico_bgp_peer_up",
      {{"daemon", s.v6_daemon()}, {"protocol", "Global_fd00_99__9"}, {"peer", "fd00:99::9"}}, 1,
      kSettleDeadline, "Global_fd00_99__9");
  if (s.lab().Flavour() != BirdFlavour::kBird3) {
    return;
  }
  // One socket, two families: the exporter was given bird.ctl alone.
  s.Require(MetricValue(s.last(), "calico_bgp_peer_up",
                        {{"daemon", "bird"}, {"protocol", "Mesh_10_99_0_1"}}) == 1.0 &&
                MetricValue(s.last(), "calico_bgp_peer_up",
                            {{"daemon", "bird"}, {"protocol", "Mesh_fd00_99__1"}}) == 1.0 &&
                FindSamples(s.last(), "", {{"daemon", "bird6"}}).empty(),
            "IPv4 and IPv6 sessions Established on the one BIRD 3 socket (daemon=\"bird\"), no "
            "bird6 series",
            "calico_bgp_peer_up");
}

void RunCoreScenario(BirdFlavour flavour) {
  const auto lab_start = std::chrono::system_clock::now();
  Scenario s(flavour);
  INFO(FlavourName(flavour) << " lab " << s.lab().Prefix() << " in " << s.lab().Dir());
  CheckDaemons(s);
  CheckMeshPeer(s, lab_start);
  CheckFailingPeers(s);
  if (IsCalicoRendered(flavour)) {
    CheckCalicoLabSessions(s);
    CheckSinceMatchesBird(s);
  }
  CheckDisable(s);
  CheckRestartTimestamp(s);
  CheckRemovedPeer(s);
  CheckNothingUnparsed(s);
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
  if (s.two_daemons()) {
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

// Calico's own BIRDs with the configs Calico renders (configs/calico/lab.json): the fork runs
// today, BIRD 3.3.0 after Calico's migration (`timeformat protocol "%F"`).
TEST_CASE("Calico's fork: session states reach /metrics", "[integration][bird][calico_fork]") {
  RunCoreScenario(BirdFlavour::kCalicoFork);
}

TEST_CASE("BIRD 3: session states reach /metrics", "[integration][bird][bird3]") {
  RunCoreScenario(BirdFlavour::kBird3);
}

TEST_CASE("Calico's fork: killed and restarted under a running exporter",
          "[integration][bird][calico_fork]") {
  RunBirdRestartScenario(BirdFlavour::kCalicoFork);
}

TEST_CASE("BIRD 3: killed and restarted under a running exporter", "[integration][bird][bird3]") {
  RunBirdRestartScenario(BirdFlavour::kBird3);
}

}  // namespace cbe::testing

namespace cbe::testing {
namespace {

// What BIRD answers to `restrict` and then to commands that would change it: each refused.
void CheckRestrictRefusesChanges(const Lab& lab) {
  const std::vector<std::string> replies = BirdConversation(
      lab.SocketPath("a"), {"restrict", "disable Mesh_10_99_0_1", "configure", "restart all"});
  std::string reply;
  for (const std::string& r : replies) {
    reply += r;
  }
  CAPTURE(reply);
  CHECK(reply.find("0016 Access restricted") != std::string::npos);
  std::size_t denied = 0;
  for (std::size_t pos = reply.find("8007 Access denied"); pos != std::string::npos;
       pos = reply.find("8007 Access denied", pos + 1)) {
    ++denied;
  }
  CHECK(denied == 3);
}

TEST_CASE("BIRD 1.6: after restrict, BIRD refuses commands that would change it",
          "[integration][bird][bird1]") {
  Lab lab(BirdFlavour::kBird1);
  // What the exporter sends first, then what it never sends: BIRD itself says no.
  CheckRestrictRefusesChanges(lab);
  // And the exporter's client refuses to send them at all.
  CHECK_FALSE(bird::IsReadOnlyCommand("disable Mesh_10_99_0_1"));
  CHECK_FALSE(bird::IsReadOnlyCommand("configure"));
  CHECK(lab.Birdc("a", "show protocols Mesh_10_99_0_1").find("Mesh_10_99_0_1") !=
        std::string::npos);
}

TEST_CASE("Calico's fork: restrict refuses changes, and the CLI has no timeformat",
          "[integration][bird][calico_fork]") {
  Lab lab(BirdFlavour::kCalicoFork);
  CheckRestrictRefusesChanges(lab);
  // The fork is BIRD 1.6: `timeformat` is a config statement only, the CLI has no such command.
  const auto replies = BirdConversation(lab.SocketPath("a"), {"restrict", "timeformat \"%s\""});
  CHECK(replies.at(0) == "0001 BIRD v0.3.3+birdv1.6.8 ready.\n");
  CHECK(replies.at(2) == "9001 syntax error\n");
}

TEST_CASE("BIRD 3: after restrict, `timeformat \"%s\"` sets exact times for the connection",
          "[integration][bird][bird3]") {
  Lab lab(BirdFlavour::kBird3);
  CheckRestrictRefusesChanges(lab);
  const auto replies =
      BirdConversation(lab.SocketPath("a"), {"restrict", "timeformat \"%s\"", "show status"});
  CAPTURE(replies);
  CHECK(replies.at(0) == "0001 BIRD 3.3.0 ready.\n");
  CHECK(replies.at(2) == "0000 \n");  // accepted, for this connection only
  // BIRD's own clock in Unix seconds, next to ours.
  const std::string status = replies.at(3);
  const std::size_t at = status.find("Current server time is ");
  REQUIRE(at != std::string::npos);
  const double bird_now = std::stod(status.substr(at + 23));
  CHECK(std::fabs(bird_now - WallSeconds(std::chrono::system_clock::now())) <= 2.0);
  // Another connection still sees the config's `timeformat protocol "%F"`: a date.
  const auto plain = BirdConversation(lab.SocketPath("a"), {"restrict", "show protocols device1"});
  CHECK(plain.at(2).find(" up     20") != std::string::npos);
}

}  // namespace
}  // namespace cbe::testing
