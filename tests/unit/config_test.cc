#include "exporter/config/config.h"

#include <catch2/catch.hpp>
#include <set>
#include <span>
#include <string>

#include "probes/mtu_probe.h"
#include "probes/probe.h"
#include "probes/tcp_syn_probe.h"

namespace cbe {
namespace {

using std::chrono::milliseconds;

std::string Errors(const ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.Format("c.yml") + "\n";
  }
  return out;
}

TEST_CASE("config: an empty file gives the defaults", "[unit]") {
  for (const char* yaml : {"", "---\n", "# nothing\n", "bird:\n"}) {
    CAPTURE(yaml);
    ConfigResult r = ParseConfig(yaml);
    REQUIRE(r.ok());
    CHECK(r.config.bird.sockets.empty());
    CHECK(r.config.bird.interval == milliseconds(5000));
    CHECK(r.config.bird.timeout == milliseconds(2000));
  }
}

TEST_CASE("config: every key", "[unit]") {
  ConfigResult r = ParseConfig(
      "bird:\n"
      "  sockets: [/var/run/calico/bird.ctl, /var/run/calico/bird6.ctl]\n"
      "  interval: 10s\n"
      "  timeout: 1500ms\n"
      "  max_reply_bytes: 1048576\n");
  INFO(Errors(r));
  REQUIRE(r.ok());
  CHECK(r.config.bird.sockets ==
        std::vector<std::string>{"/var/run/calico/bird.ctl", "/var/run/calico/bird6.ctl"});
  CHECK(r.config.bird.interval == milliseconds(10000));
  CHECK(r.config.bird.timeout == milliseconds(1500));
  CHECK(r.config.bird.max_reply_bytes == 1048576u);
}

TEST_CASE("config: the diagnosis thresholds", "[unit]") {
  ConfigResult defaults = ParseConfig("");
  REQUIRE(defaults.ok());
  CHECK(defaults.config.diagnosis.no_routes_after == milliseconds(600000));
  CHECK(defaults.config.diagnosis.no_routes_peer_types == std::vector<std::string>{"node_mesh"});
  ConfigResult r = ParseConfig(
      "diagnosis:\n  no_routes_after: 30s\n  no_routes_peer_types: [node_mesh, node_specific]\n");
  INFO(Errors(r));
  REQUIRE(r.ok());
  CHECK(r.config.diagnosis.no_routes_after == milliseconds(30000));
  CHECK(r.config.diagnosis.no_routes_peer_types ==
        std::vector<std::string>{"node_mesh", "node_specific"});
}

TEST_CASE("config: the intent client and this node's name", "[unit]") {
  ConfigResult r = ParseConfig(
      "node_name: node-1\nintent:\n  url: http://intent.example:10180/\n  interval: 30s\n"
      "  timeout: 3s\n  ca_file: /etc/ca.pem\n");
  INFO(Errors(r));
  REQUIRE(r.ok());
  CHECK(r.config.node_name == "node-1");
  CHECK(r.config.intent.url == "http://intent.example:10180");  // The trailing slash dropped.
  CHECK(r.config.intent.interval == milliseconds(30000));
  CHECK(r.config.intent.timeout == milliseconds(3000));
  CHECK(r.config.intent.ca_file == "/etc/ca.pem");
  CHECK(r.config.intent.enabled());
  CHECK_FALSE(ParseConfig("").config.intent.enabled());
}

TEST_CASE("config: the node name from NODE_NAME, required by the intent client", "[unit]") {
  const auto env = [](const char* value) {
    return [value](const char* name) -> const char* {
      return std::string(name) == "NODE_NAME" ? value : nullptr;
    };
  };
  Config c;
  CHECK_FALSE(ResolveNodeName(env(nullptr), &c).has_value());  // Not needed without intent.
  c.intent.url = "http://intent:10180";
  const auto missing = ResolveNodeName(env(nullptr), &c);
  REQUIRE(missing.has_value());
  CHECK(missing->Format("c.yml") ==
        "c.yml: node_name: intent.url needs this node's name: set node_name, or the NODE_NAME "
        "environment variable (the DaemonSet sets it from spec.nodeName)");
  CHECK_FALSE(ResolveNodeName(env("node-7"), &c).has_value());
  CHECK(c.node_name == "node-7");
  c.node_name = "from-file";
  CHECK_FALSE(ResolveNodeName(env("node-7"), &c).has_value());
  CHECK(c.node_name == "from-file");  // The file wins.
}

// An invalid config file and every error it must give, in order.
struct InvalidConfig {
  const char* yaml;
  const char* errors;
};

void CheckInvalidConfigs(std::span<const InvalidConfig> cases) {
  for (const InvalidConfig& c : cases) {
    CAPTURE(c.yaml);
    ConfigResult r = ParseConfig(c.yaml);
    CHECK_FALSE(r.ok());
    CHECK(Errors(r) == c.errors);
  }
}

TEST_CASE("config: invalid files and their exact messages", "[unit]") {
  const InvalidConfig cases[] = {
      {"bird:\n  intervall: 5s\n",
       "c.yml:2:3: bird.intervall: unknown key (expected one of: sockets, interval, timeout, "
       "max_reply_bytes)\n"},
      {"birds: {}\n",
       "c.yml:1:1: birds: unknown key (expected one of: node_name, intent, bird, peers, probes, "
       "clock, metrics, diagnosis)\n"},
      {"intent:\n  url: calico-bgp-exporter-intent:10180\n  interval: 1s\n  timeout: 2s\n",
       "c.yml:2:8: intent.url: must be the http:// or https:// URL of intent serve, e.g. "
       "http://calico-bgp-exporter-intent.calico-bgp-exporter.svc:10180\n"
       "c.yml:4:12: intent.timeout: must not exceed intent.interval (1s)\n"},
      {"node_name: \"\"\n", "c.yml:1:12: node_name: must be a non-empty string\n"},
      {"diagnosis:\n  no_routes_after: soon\n  no_routes_peer_types: [mesh, global]\n",
       "c.yml:2:20: diagnosis.no_routes_after: invalid duration \"soon\" (use a number and a unit: "
       "5s, 100ms, 1m)\n"
       "c.yml:3:26: diagnosis.no_routes_peer_types[0]: unknown peer type 'mesh'; known: "
       "node_mesh, node_specific, global, other\n"},
      {"diagnosis:\n  no_routes_peer_types: node_mesh\n",
       "c.yml:2:25: diagnosis.no_routes_peer_types: must be a list of: node_mesh, node_specific, "
       "global, other\n"},
      {"metrics:\n  extra: [timers, rtt]\n",
       "c.yml:2:19: metrics.extra[1]: unknown extra 'rtt'; known: timers, route_details, "
       "state_changes, port_rtt, tx_pending\n"},
      {"metrics:\n  extra: timers\n",
       "c.yml:2:10: metrics.extra: must be a list of: timers, route_details, state_changes, "
       "port_rtt, tx_pending\n"},
      {"metrics:\n  extras: []\n",
       "c.yml:2:3: metrics.extras: unknown key (expected one of: extra, sessions, "
       "keep_recovered)\n"},
      {"metrics:\n  sessions: healthy\n",
       "c.yml:2:13: metrics.sessions: must be all (series for every session) or unhealthy (only "
       "for sessions whose cause is not healthy)\n"},
      {"metrics:\n  sessions: [unhealthy]\n",
       "c.yml:2:13: metrics.sessions: must be all (series for every session) or unhealthy (only "
       "for sessions whose cause is not healthy)\n"},
      {"metrics: {sessions: unhealthy, keep_recovered: 0s}\n",
       "c.yml:1:48: metrics.keep_recovered: must be greater than zero\n"},
      {"metrics: {sessions: Unhealthy, keep_recovered: 5}\n",
       "c.yml:1:21: metrics.sessions: must be all (series for every session) or unhealthy (only "
       "for sessions whose cause is not healthy)\n"
       "c.yml:1:48: metrics.keep_recovered: invalid duration \"5\" (use a number and a unit: 5s, "
       "100ms, 1m)\n"},
  };
  CheckInvalidConfigs(cases);
}

TEST_CASE("config: invalid bird sections and their exact messages", "[unit]") {
  const InvalidConfig cases[] = {
      {"bird:\n  interval: 5x\n",
       "c.yml:2:13: bird.interval: invalid duration \"5x\" (use a number and a unit: 5s, 100ms, "
       "1m)\n"},
      {"bird:\n  interval: 0s\n", "c.yml:2:13: bird.interval: must be greater than zero\n"},
      {"bird:\n  interval: [5s]\n",
       "c.yml:2:13: bird.interval: must be a duration such as 5s or 100ms\n"},
      {"bird:\n  interval: 1s\n  timeout: 2s\n",
       "c.yml:3:12: bird.timeout: must not exceed bird.interval (1s)\n"},
      {"bird:\n  sockets: /var/run/calico/bird.ctl\n",
       "c.yml:2:12: bird.sockets: must be a list of socket paths\n"},
      {"bird:\n  sockets: [bird.ctl]\n",
       "c.yml:2:13: bird.sockets[0]: must be an absolute path, got \"bird.ctl\"\n"},
      {"bird:\n  sockets: [/a/bird.ctl, /b/bird.ctl]\n",
       "c.yml:2:26: bird.sockets[1]: another socket already has the daemon name \"bird\" (the "
       "file name without extension labels the series)\n"},
      {"bird:\n  sockets: [{path: /x}]\n", "c.yml:2:13: bird.sockets[0]: must be a socket path\n"},
      {"bird:\n  max_reply_bytes: -1\n",
       "c.yml:2:20: bird.max_reply_bytes: must be a positive number of bytes\n"},
      {"bird: [1, 2]\n", "c.yml:1:7: bird: must be a map\n"},
      {"- a\n- b\n", "c.yml:1:1: must be a map\n"},
      {"bird:\n  interval: 5s\n   timeout: 1s\n", "c.yml:3:11: invalid YAML: illegal map value\n"},
      {"bird: {interval: 5x, timeout: nope, extra: 1}\n",
       "c.yml:1:37: bird.extra: unknown key (expected one of: sockets, interval, timeout, "
       "max_reply_bytes)\n"
       "c.yml:1:18: bird.interval: invalid duration \"5x\" (use a number and a unit: 5s, 100ms, "
       "1m)\n"
       "c.yml:1:31: bird.timeout: invalid duration \"nope\" (use a number and a unit: 5s, 100ms, "
       "1m)\n"},
  };
  CheckInvalidConfigs(cases);
}

// The same validator as the web config's: a key given twice is an error, at the second one.
TEST_CASE("config: duplicate keys and their exact messages", "[unit]") {
  struct Case {
    const char* yaml;
    const char* errors;
  };
  const Case cases[] = {
      {"bird:\n  interval: 5s\n  interval: 10s\n", "c.yml:3:3: bird.interval: duplicate key\n"},
      {"bird: {}\nbird: {}\n", "c.yml:2:1: bird: duplicate key\n"},
      {"probes:\n  tcp:\n    port: 179\n    port: 180\n",
       "c.yml:4:5: probes.tcp.port: duplicate key\n"},
      {"peers:\n  static:\n    - {address: 10.0.0.1, address: 10.0.0.2}\n",
       "c.yml:3:27: peers.static[0].address: duplicate key\n"},
      {"clock:\n  chrony: {enabled: true, enabled: false}\n  chrony: {}\n",
       "c.yml:3:3: clock.chrony: duplicate key\n"
       "c.yml:2:27: clock.chrony.enabled: duplicate key\n"},
      // A duplicate and an unknown key in one map: both reported, in file order.
      {"metrics:\n  extra: [timers]\n  extras: []\n  extra: []\n",
       "c.yml:3:3: metrics.extras: unknown key (expected one of: extra, sessions, "
       "keep_recovered)\n"
       "c.yml:4:3: metrics.extra: duplicate key\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.yaml);
    ConfigResult r = ParseConfig(c.yaml);
    CHECK_FALSE(r.ok());
    CHECK(Errors(r) == c.errors);
  }
}

TEST_CASE("config: every value type's error, all at once", "[unit]") {
  const ConfigResult r = ParseConfig(
      "bird: {max_reply_bytes: 0}\n"
      "probes:\n"
      "  packets_per_second: 0\n"
      "  tcp: {enabled: maybe, port: 65536, mode: full}\n"
      "  mtu: {max_steps: 1}\n"
      "  icmp: {count: 1.5, interval: 1s, timeout: 2s}\n"
      "clock: {ntp_servers: ntp, chrony: {address: 'x:y'}}\n");
  CHECK(Errors(r) ==
        "c.yml:1:25: bird.max_reply_bytes: must be a positive number of bytes\n"
        "c.yml:3:23: probes.packets_per_second: must be a whole number from 1 to 1000000\n"
        "c.yml:4:18: probes.tcp.enabled: must be true or false\n"
        "c.yml:4:44: probes.tcp.mode: must be syn (half-open, needs CAP_NET_RAW) or connect "
        "(risky: a full connect)\n"
        "c.yml:4:31: probes.tcp.port: must be a whole number from 1 to 65535\n"
        "c.yml:6:17: probes.icmp.count: must be a whole number from 1 to 100\n"
        "c.yml:6:45: probes.icmp.timeout: must not exceed probes.icmp.interval (1s)\n"
        "c.yml:5:20: probes.mtu.max_steps: must be a whole number from 2 to 32\n"
        "c.yml:7:22: clock.ntp_servers: must be a list of host or host:port\n"
        "c.yml:7:45: clock.chrony.address: must be an IP address with an optional port, e.g. "
        "127.0.0.1:323\n");
}

TEST_CASE("config: a socket path longer than sun_path allows", "[unit]") {
  const std::string path = "/" + std::string(107, 'a');
  const ConfigResult r = ParseConfig("bird:\n  sockets: [" + path + "]\n");
  CHECK(Errors(r) ==
        "c.yml:2:13: bird.sockets[0]: path longer than a unix socket address allows (107 "
        "bytes)\n");
  CHECK(ParseConfig("bird:\n  sockets: [" + path.substr(1) + "]\n").ok() == false);
  CHECK(ParseConfig("bird:\n  sockets: [/" + std::string(106, 'a') + "]\n").ok());
}

TEST_CASE("config: metrics.extra switches on extra series per peer", "[unit]") {
  const MetricsConfig none = ParseConfig("").config.metrics;
  CHECK_FALSE((none.timers || none.route_details || none.state_changes || none.port_rtt));
  const auto r = ParseConfig("metrics:\n  extra: [timers, port_rtt]\n");
  REQUIRE(r.ok());
  CHECK(r.config.metrics.timers);
  CHECK(r.config.metrics.port_rtt);
  CHECK_FALSE(r.config.metrics.route_details);
  CHECK_FALSE(r.config.metrics.state_changes);
  const auto all = ParseConfig(
      "metrics: {extra: [timers, route_details, state_changes, "
      "port_rtt]}\n");
  REQUIRE(all.ok());
  CHECK((all.config.metrics.timers && all.config.metrics.route_details &&
         all.config.metrics.state_changes && all.config.metrics.port_rtt));
}

TEST_CASE("config: metrics.sessions chooses which sessions have series of their own", "[unit]") {
  const MetricsConfig defaults = ParseConfig("").config.metrics;
  CHECK(defaults.sessions == SessionSeries::kAll);
  CHECK(defaults.keep_recovered == milliseconds(300000));
  const auto unhealthy = ParseConfig("metrics:\n  sessions: unhealthy\n  keep_recovered: 2m\n");
  INFO(Errors(unhealthy));
  REQUIRE(unhealthy.ok());
  CHECK(unhealthy.config.metrics.sessions == SessionSeries::kUnhealthy);
  CHECK(unhealthy.config.metrics.keep_recovered == milliseconds(120000));
  const auto all = ParseConfig("metrics: {sessions: all, extra: [timers]}\n");
  REQUIRE(all.ok());
  CHECK(all.config.metrics.sessions == SessionSeries::kAll);
  CHECK(all.config.metrics.timers);
}

TEST_CASE("config: an unreadable file", "[unit]") {
  ConfigResult r = LoadConfigFile("/nonexistent/config.yml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].Format("/nonexistent/config.yml") ==
        "/nonexistent/config.yml: cannot read the config file");
}

TEST_CASE("config: daemon names are socket file stems", "[unit]") {
  CHECK(DaemonName("/var/run/calico/bird.ctl") == "bird");
  CHECK(DaemonName("/var/run/calico/bird6.ctl") == "bird6");
  CHECK(DaemonName("/run/bird/bird") == "bird");
}

// The probers of probes/ (probes/probe.h) and the config layer: every row of the table has its
// own section under `probes`, read by the one YAML validator.

TEST_CASE("probers: one row each, found by name, enabled by default", "[unit]") {
  const auto probers = probes::Probers();
  REQUIRE(probers.size() >= 4);
  std::set<std::string> names;
  for (std::size_t i = 0; i < probers.size(); ++i) {
    const std::string name(probers[i]->Name());
    CAPTURE(name);
    CHECK(names.insert(name).second);
    CHECK(probes::ProberIndex(name) == i);
    const auto defaults = probers[i]->DefaultSettings();
    CHECK(defaults->enabled);
    CHECK(defaults->interval > milliseconds(0));
    CHECK(ProbesConfig().settings(i).interval == defaults->interval);
  }
  CHECK(probes::ProberIndex("nope") == probers.size());
}

TEST_CASE("probers: each reads its own section, and leaves the others alone", "[unit]") {
  const auto probers = probes::Probers();
  for (std::size_t i = 0; i < probers.size(); ++i) {
    const std::string name(probers[i]->Name());
    const bool top = probers[i]->TopLevelSection();
    CAPTURE(name);
    // `probes.<name>`, or `<name>` at the top (clock).
    const auto section = [&](const std::string& body) {
      return top ? name + ":\n  " + body + "\n" : "probes:\n  " + name + ":\n    " + body + "\n";
    };
    const ConfigResult r = ParseConfig(section("interval: 7s"));
    REQUIRE(Errors(r).empty());
    for (std::size_t j = 0; j < probers.size(); ++j) {
      CHECK((r.config.probes.settings(j).interval == milliseconds(7000)) == (j == i));
      CHECK(r.config.probes.settings(j).enabled);
    }
    const ConfigResult off = ParseConfig(section("enabled: false"));
    REQUIRE(Errors(off).empty());
    for (std::size_t j = 0; j < probers.size(); ++j) {
      CHECK(off.config.probes.settings(j).enabled == (j != i));
    }
    // Every section knows `enabled` and `interval`, and says which keys it knows.
    const ConfigResult bad = ParseConfig(section("bogus: 1"));
    const std::string errors = Errors(bad);
    const std::string at = top ? "c.yml:2:3: " : "c.yml:3:5: probes.";
    CHECK(errors.find(at + name + ".bogus: unknown key (expected one of: ") == 0);
    CHECK(errors.find("enabled") != std::string::npos);
    CHECK(errors.find("interval") != std::string::npos);
    CHECK(bad.errors.size() == 1);
  }
}

TEST_CASE("probers: the probes section lists the probers' keys", "[unit]") {
  std::string expected = "c.yml:2:3: probes.nope: unknown key (expected one of: ";
  for (const probes::Prober* p : probes::Probers()) {
    if (!p->TopLevelSection()) {
      expected += std::string(p->Name()) + ", ";
    }
  }
  expected += "packets_per_second)\n";
  CHECK(Errors(ParseConfig("probes:\n  nope: {}\n")) == expected);
  CHECK(Errors(ParseConfig("probes:\n  clock: {}\n")) ==
        "c.yml:2:3: probes.clock: unknown key (expected one of: tcp, icmp, mtu, listener, "
        "packets_per_second)\n");
}

TEST_CASE("probers: settings are typed, and a copy changes alone", "[unit]") {
  const ConfigResult r = ParseConfig("probes:\n  tcp:\n    port: 1179\n  mtu:\n    max_steps: 5\n");
  REQUIRE(r.ok());
  CHECK(r.config.probes.Get<probes::TcpSettings>().port == 1179);
  CHECK(r.config.probes.Get<probes::MtuSettings>().max_steps == 5);
  CHECK(r.config.probes.Get<probes::MtuSettings>().interval == std::chrono::minutes(5));
  Config copy = r.config;
  copy.probes.Mutable<probes::TcpSettings>().port = 2179;
  CHECK(copy.probes.Get<probes::TcpSettings>().port == 2179);
  CHECK(r.config.probes.Get<probes::TcpSettings>().port == 1179);
}

}  // namespace
}  // namespace cbe
