// One diagnosis per session against real BIRD daemons in the lab (lab.sh): every cause the lab
// can produce, each reported within a few rounds, and `check` printing it with exit code 1. On
// BIRD 1.6 every cause, one section each; on Calico's fork and BIRD 3 (configs as Calico renders
// them) the causes the lab shows at once.

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "lab.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPort = 9844;
// Rounds of 1 s (BIRD and every probe): two rounds plus the probes' own timeouts.
constexpr auto kCauseDeadline = 10s;

std::string Config(const Lab& lab) {
  // The fork's IPv6 sessions are on bird6; the BIRD 1.6 cases are about bird's sessions only.
  std::string sockets = lab.SocketPath("a");
  if (lab.Flavour() == BirdFlavour::kCalicoFork) {
    sockets += ", " + lab.SocketPath("a", /*v6=*/true);
  }
  return lab.WriteFile("diagnosis.yml",
                       "bird:\n"
                       "  sockets: [" +
                           sockets +
                           "]\n"
                           "  interval: 1s\n"
                           "  timeout: 1s\n"
                           "probes:\n"
                           "  tcp: {interval: 1s, timeout: 500ms}\n"
                           "  icmp: {interval: 1s, timeout: 500ms, count: 2}\n"
                           "  mtu: {interval: 5s, timeout: 300ms}\n"
                           "  listener: {interval: 1s}\n");
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

class Diagnosed {
 public:
  explicit Diagnosed(BirdFlavour flavour = BirdFlavour::kBird1)
      : lab_(flavour),
        exporter_(lab_.Netns("a"), Config(lab_), kPort, lab_.Dir() + "/exporter.log") {}

  Lab& lab() { return lab_; }

  // Waits until the exporter reports `cause` for `protocol`.
  void ExpectCause(const std::string& protocol, const std::string& cause) {
    std::string seen;
    const bool ok = WaitForCause(exporter_, protocol, cause, kCauseDeadline, &seen);
    INFO(protocol << " expected " << cause << "\n"
                  << seen << "--- lab ---\n"
                  << lab_.Status() << "--- log ---\n"
                  << exporter_.LogTail(3000));
    CHECK(ok);
  }

  // A sample of the exporter's /metrics, once `pred` holds for it (or the deadline passed).
  std::optional<double> MetricWhen(const std::string& name,
                                   const std::map<std::string, std::string>& labels,
                                   const std::function<bool(std::optional<double>)>& pred) {
    std::optional<double> value;
    PollUntil(kCauseDeadline, [&] {
      value = MetricValue(exporter_.Get("/metrics"), name, labels);
      return pred(value);
    });
    return value;
  }

  // `check` in node a's namespace: its output and exit code.
  CommandResult Check() {
    return RunCommand({"ip", "netns", "exec", lab_.Netns("a"), CBE_EXPORTER_PATH, "check",
                       "--config.file=" + lab_.Dir() + "/diagnosis.yml"},
                      30s);
  }

 private:
  Lab lab_;
  ExporterProcess exporter_;
};

TEST_CASE("diagnosis: one cause per session on real BIRD", "[integration][diagnosis]") {
  Diagnosed d;
  // A peer with no route at all: added to a's config.
  Append(d.lab().Dir() + "/a/bird.conf",
         "protocol bgp Global_10_97_0_1 from bgp_template {\n"
         "  neighbor 10.97.0.1 as 64512;\n"
         "  source address 10.99.0.5;\n"
         "}\n");
  d.lab().Birdc("a", "configure");

  d.ExpectCause("Mesh_10_99_0_1", "healthy");
  d.ExpectCause("Mesh_10_99_0_2", "port_closed");         // c: no BIRD at all.
  d.ExpectCause("Global_10_99_0_4", "as_mismatch");       // a says AS 65000, e is 64512.
  d.ExpectCause("Mesh_10_99_0_6", "router_id_conflict");  // f uses a's router ID.
  d.ExpectCause("Mesh_10_99_0_8", "peer_unreachable");    // h does not exist.
  d.ExpectCause("Global_10_97_0_1", "peer_unreachable");  // No route.

  SECTION("check prints the causes and exits 1") {
    const CommandResult r = d.Check();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Global_10_99_0_4") != std::string::npos);
    CHECK(r.out.find("as_mismatch") != std::string::npos);
    CHECK(r.out.find("router_id_conflict") != std::string::npos);
    CHECK(r.out.find("port_closed") != std::string::npos);
    CHECK(r.out.find("next step:") != std::string::npos);
  }
  SECTION("an operator's disable") {
    const std::map<std::string, std::string> mesh = {{"daemon", "bird"},
                                                     {"peer_type", "node_mesh"}};
    const auto before = d.MetricWhen("calico_bgp_peers_down_changes_total", mesh,
                                     [](std::optional<double> v) { return v.has_value(); });
    REQUIRE(before);
    d.ExpectCause("Mesh_10_99_0_7", "healthy");  // Up in a round of the exporter first.
    d.lab().Birdc("a", "disable Mesh_10_99_0_7");
    d.ExpectCause("Mesh_10_99_0_7", "admin_down");
    // Counted on its own, and as a loss of an Established session (g's was up).
    auto admin = mesh;
    admin["cause"] = "admin_down";
    CHECK(d.MetricWhen("calico_bgp_peers", admin,
                       [](std::optional<double> v) { return v == 1.0; }) == 1.0);
    CHECK(d.MetricWhen("calico_bgp_peers_down_changes_total", mesh, [&](std::optional<double> v) {
      return v && *v >= *before + 1;
    }) >= *before + 1);
  }
  SECTION("a firewall dropping 179 on the peer") {
    RunCommand({"ip", "netns", "exec", d.lab().Netns("b"), "iptables", "-A", "INPUT", "-p", "tcp",
                "--dport", "179", "-j", "DROP"});
    d.lab().Birdc("a", "restart Mesh_10_99_0_1");
    d.ExpectCause("Mesh_10_99_0_1", "port_filtered");
  }
  SECTION("a firewall rejecting 179 on the peer") {
    RunCommand({"ip", "netns", "exec", d.lab().Netns("b"), "iptables", "-A", "INPUT", "-p", "tcp",
                "--dport", "179", "-j", "REJECT"});
    d.lab().Birdc("a", "restart Mesh_10_99_0_1");
    d.ExpectCause("Mesh_10_99_0_1", "port_filtered");
  }
  SECTION("the peer's BIRD stopped") {
    d.lab().BirdStop("b");
    d.ExpectCause("Mesh_10_99_0_1", "port_closed");
  }
  SECTION("this node's BIRD does not listen on 179") {
    // g connects to a (a is passive towards g); with a listening elsewhere g is refused.
    Append(d.lab().Dir() + "/a/bird.conf", "listen bgp port 1179;\n");
    d.lab().BirdStop("a");
    d.lab().BirdStart("a");
    d.ExpectCause("Mesh_10_99_0_7", "local_not_listening");
  }
  SECTION("this node's BIRD killed") {
    d.lab().BirdKill("a");
    d.ExpectCause("Mesh_10_99_0_1", "bird_down");
    d.ExpectCause("Global_10_99_0_4", "bird_down");
    const CommandResult r = d.Check();
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("DOWN") != std::string::npos);
  }
}

TEST_CASE("diagnosis: check exits 0 when every session is healthy", "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // Only the healthy sessions of a: drop the others from its config.
  for (const char* name :
       {"Mesh_10_99_0_2", "Global_10_99_0_4", "Mesh_10_99_0_6", "Mesh_10_99_0_8"}) {
    lab.RemoveProtocol("a", name);
  }
  const std::string config = Config(lab);
  CommandResult r;
  const bool healthy = PollUntil(40s, [&] {
    r = RunCommand({"ip", "netns", "exec", lab.Netns("a"), CBE_EXPORTER_PATH, "check",
                    "--config.file=" + config, "--output", "json"},
                   30s);
    return r.exit_code == 0;
  });
  INFO(r.out << r.err);
  CHECK(healthy);
  CHECK(r.out.find("\"healthy\": true") != std::string::npos);
  const CommandResult usage = RunCommand({CBE_EXPORTER_PATH, "check", "--output", "yaml"});
  CHECK(usage.exit_code == 2);
  const CommandResult bad_config =
      RunCommand({CBE_EXPORTER_PATH, "check", "--config.file=/nonexistent.yml"});
  CHECK(bad_config.exit_code == 2);
}

}  // namespace
}  // namespace cbe::testing

namespace cbe::testing {
namespace {

TEST_CASE("diagnosis: hold timer expiries behind a PMTU black hole", "[integration][diagnosis]") {
  // a and z both have 1500-byte interfaces; r's link to z carries 1400 and r's ICMP
  // "fragmentation needed" is dropped. The session comes up (small messages), a's large UPDATEs
  // (3000 routes) never arrive, z's hold timer expires: a reads "Received: Hold timer expired".
  NetLab lab({"NETLAB_Z_MTU=1500", "NETLAB_A_ROUTES=3000", "NETLAB_HOLD=6"});
  lab.Exec("r", {"iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed",
                 "-j", "DROP"});
  const std::string config = lab.Dir() + "/exporter.yml";
  std::ofstream(config) << "bird:\n  sockets: [" << lab.Socket("a") << "]\n"
                        << "  interval: 1s\n  timeout: 1s\n"
                        << "probes:\n  tcp: {interval: 1s, timeout: 500ms}\n"
                        << "  icmp: {interval: 1s, timeout: 500ms}\n"
                        << "  mtu: {interval: 2s, timeout: 300ms}\n";
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  std::string metrics;
  const bool seen = PollUntil(60s, [&] {
    try {
      metrics = exporter.Get("/metrics");
    } catch (const std::exception&) {
      return false;
    }
    return MetricValue(metrics, "calico_bgp_peer_diagnosis",
                       {{"protocol", "Mesh_10_98_2_2"}, {"cause", "hold_timer_expired_mtu"}}) ==
           1.0;
  });
  INFO(GrepLines(metrics, "Mesh_10_98_2_2")
       << GrepLines(metrics, "mtu_bytes") << exporter.LogTail(3000));
  CHECK(seen);
  CHECK(MetricValue(metrics, "calico_bgp_peer_path_mtu_bytes", {{"peer", "10.98.2.2"}}) == 1400);
  // The path MTU names the interface of the route to the peer; its MTU is a series of its own.
  const auto path = FindSamples(metrics, "calico_bgp_peer_path_mtu_bytes", {{"peer", "10.98.2.2"}});
  REQUIRE(path.size() == 1);
  const std::string interface = path[0].labels.at("interface");
  CHECK_FALSE(interface.empty());
  CHECK(MetricValue(metrics, "calico_bgp_interface_mtu_bytes", {{"interface", interface}}) == 1500);
}

}  // namespace
}  // namespace cbe::testing

namespace cbe::testing {
namespace {

// The lab of configs/calico/lab.json: every standing cause at once, over both families.
void RunCalicoRenderedDiagnosis(BirdFlavour flavour) {
  Diagnosed d(flavour);
  INFO(FlavourName(flavour) << " lab " << d.lab().Prefix());
  d.ExpectCause("Mesh_10_99_0_1", "healthy");
  d.ExpectCause("Mesh_fd00_99__1", "healthy");
  d.ExpectCause("Global_10_99_0_9", "healthy");  // i: the eBGP ToR.
  d.ExpectCause("Global_fd00_99__9", "healthy");
  d.ExpectCause("Mesh_10_99_0_2", "port_closed");  // c: no BIRD at all.
  d.ExpectCause("Mesh_fd00_99__2", "port_closed");
  d.ExpectCause("Mesh_10_99_0_3", "port_filtered");       // d drops tcp/179.
  d.ExpectCause("Global_10_99_0_4", "as_mismatch");       // the cluster says 65000, e is 64512.
  d.ExpectCause("Mesh_10_99_0_6", "router_id_conflict");  // f uses a's router ID.
  d.ExpectCause("Mesh_10_99_0_8", "peer_unreachable");    // h does not exist.
  const CommandResult r = d.Check();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  for (const char* cause : {"port_closed", "port_filtered", "as_mismatch", "router_id_conflict"}) {
    CHECK(r.out.find(cause) != std::string::npos);
  }
}

TEST_CASE("diagnosis: one cause per session on Calico's fork",
          "[integration][diagnosis][calico_fork]") {
  RunCalicoRenderedDiagnosis(BirdFlavour::kCalicoFork);
}

TEST_CASE("diagnosis: one cause per session on BIRD 3", "[integration][diagnosis][bird3]") {
  RunCalicoRenderedDiagnosis(BirdFlavour::kBird3);
}

}  // namespace
}  // namespace cbe::testing
