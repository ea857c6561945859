// BIRD's own evidence on real BIRD daemons (lab.sh; 1.6, and Calico's fork and BIRD 3 with the
// configs Calico renders): with the probes off (or not run yet,
// or without CAP_NET_RAW) the diagnosis still names refused, unreachable and firewalled peers
// from what BIRD's connection attempts found, and says that BIRD decided; a node whose BIRD
// cannot open its BGP port is named; a restarted exporter names a refused peer within one
// BIRD round.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "lab.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPort = 9845;

// BIRD every second; every probe off. The port probe's interval still sets how young a change
// is "too recent to judge" (two rounds of the slower of BIRD and the port probe: 2 s).
std::string ProbesOffConfig(const Lab& lab) {
  return lab.WriteFile("evidence.yml",
                       "bird:\n  sockets: [" + lab.SocketPath("a") +
                           "]\n  interval: 1s\n  timeout: 1s\n"
                           "probes:\n"
                           "  tcp: {enabled: false, interval: 1s, timeout: 500ms}\n"
                           "  icmp: {enabled: false}\n"
                           "  mtu: {enabled: false}\n"
                           "  listener: {enabled: false}\n"
                           "clock: {peer_offset: {enabled: false}, chrony: {enabled: false}}\n");
}

// Polls the exporter until `protocol` has `cause`; the failure message has what it saw.
bool ExpectCause(ExporterProcess& exporter, Lab& lab, const std::string& protocol,
                 const std::string& cause, std::chrono::milliseconds deadline) {
  std::string seen;
  const bool ok = WaitForCause(exporter, protocol, cause, deadline, &seen);
  INFO(protocol << " expected " << cause << "\n"
                << seen << "--- lab ---\n"
                << lab.Status() << "--- log ---\n"
                << exporter.LogTail(3000));
  CHECK(ok);
  return ok;
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

TEST_CASE("evidence: probes off, BIRD's own connection errors name the cause",
          "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // A peer with no route at all, and a firewall on b that drops a's connection attempts.
  Append(lab.Dir() + "/a/bird.conf",
         "protocol bgp Global_10_97_0_1 from bgp_template {\n"
         "  neighbor 10.97.0.1 as 64512;\n"
         "  source address 10.99.0.5;\n"
         "}\n");
  lab.Birdc("a", "configure");
  RunCommand({"ip", "netns", "exec", lab.Netns("b"), "iptables", "-A", "INPUT", "-p", "tcp",
              "--dport", "179", "-j", "DROP"});
  lab.Birdc("a", "restart Mesh_10_99_0_1");
  const std::string config = ProbesOffConfig(lab);
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));

  // c has no BIRD: a's connects are refused (RST). No probe ran.
  ExpectCause(exporter, lab, "Mesh_10_99_0_2", "port_closed", 10s);
  // No route to 10.97.0.1: BIRD's connect fails at once.
  ExpectCause(exporter, lab, "Global_10_97_0_1", "peer_unreachable", 10s);
  // b drops the SYNs: BIRD sits in Connect with no error at all.
  ExpectCause(exporter, lab, "Mesh_10_99_0_1", "port_filtered", 15s);
  CHECK(MetricValue(exporter.Get("/metrics"), "calico_bgp_probe_success", {{"probe", "tcp"}}) ==
        std::nullopt);

  // `check` reaches the same causes from the same evidence, and says BIRD decided.
  const CommandResult r = RunCommand({"ip", "netns", "exec", lab.Netns("a"), CBE_EXPORTER_PATH,
                                      "check", "--config.file=" + config, "--output", "json"},
                                     30s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("\"evidence\": \"BIRD: last error: Socket: Connection refused; port 179 not "
                   "probed\"") != std::string::npos);
  CHECK(r.out.find("\"evidence\": \"BIRD: in Connect for") != std::string::npos);
}

TEST_CASE("evidence: this node's BIRD cannot open its BGP port", "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  lab.BirdStop("a");
  // Another BGP speaker holds 179 on a when a's BIRD starts.
  const std::string holder = lab.Dir() + "/hold179.py";
  std::ofstream(holder) << "import socket, time\n"
                           "s = socket.socket()\n"
                           "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                           "s.bind(('0.0.0.0', 179))\n"
                           "s.listen()\n"
                           "open('"
                        << lab.Dir()
                        << "/hold179.ready', 'w').close()\n"
                           "time.sleep(120)\n";
  // In the background; the lab's teardown kills what runs in its namespaces.
  REQUIRE(std::system(("ip netns exec " + lab.Netns("a") + " /usr/bin/python3 " + holder +
                       " >/dev/null 2>&1 &")
                          .c_str()) == 0);
  REQUIRE(
      PollUntil(10s, [&] { return ::access((lab.Dir() + "/hold179.ready").c_str(), F_OK) == 0; }));
  lab.BirdStart("a");
  // The listener probe on: it names the process that holds the port.
  const std::string config = lab.WriteFile(
      "listen.yml", "bird:\n  sockets: [" + lab.SocketPath("a") +
                        "]\n  interval: 1s\n  timeout: 1s\n"
                        "probes:\n"
                        "  tcp: {enabled: false, interval: 1s, timeout: 500ms}\n"
                        "  icmp: {enabled: false}\n"
                        "  mtu: {enabled: false}\n"
                        "  listener: {enabled: true, interval: 1s}\n"
                        "clock: {peer_offset: {enabled: false}, chrony: {enabled: false}}\n");
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  ExpectCause(exporter, lab, "Mesh_10_99_0_1", "listen_socket", 10s);
  // The daemon keeps only CAP_NET_RAW: another root process's descriptors are out of its sight,
  // and the evidence says so.
  std::string page;
  const bool hidden = PollUntil(10s, [&] {
    page = exporter.Get("/");
    return page.find("a process this exporter cannot see holds port 179") != std::string::npos;
  });
  INFO(page);
  CHECK(hidden);
  // `check` run as root on the node (every capability) names the Python script, not BIRD.
  const CommandResult r = RunCommand({"ip", "netns", "exec", lab.Netns("a"), CBE_EXPORTER_PATH,
                                      "check", "--config.file=" + config, "--output", "json"},
                                     30s);
  INFO(r.out << r.err);
  CHECK(r.out.find("port 179 is held by python3 (pid ") != std::string::npos);
}

// Replaces `from` by `to` in a file of the lab.
void Replace(const std::string& path, const std::string& from, const std::string& to) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  std::ofstream(path, std::ios::trunc) << text;
}

TEST_CASE("evidence: this node's BGP address autodetected on docker0", "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // What confd renders when a's address autodetection picked docker0: a's router ID is
  // 172.17.0.1, and b's mesh session to a points at that address, so b refuses a's connects.
  Replace(lab.Dir() + "/a/bird.conf", "router id 10.99.0.5;", "router id 172.17.0.1;");
  Replace(lab.Dir() + "/b/bird.conf", "neighbor 10.99.0.5 as 64512;",
          "neighbor 172.17.0.1 as 64512;");
  lab.BirdStop("a");
  lab.BirdStart("a");
  lab.Birdc("b", "configure");
  ExporterProcess exporter(lab.Netns("a"), ProbesOffConfig(lab), kPort,
                           lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  ExpectCause(exporter, lab, "Mesh_10_99_0_1", "node_address", 15s);
}

TEST_CASE("evidence: a mesh session up with no route either way is no_routes",
          "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // A filter mistake on a for its session to g: nothing imported, nothing exported.
  Replace(lab.Dir() + "/a/bird.conf", "  neighbor 10.99.0.7 as 64512;\n",
          "  neighbor 10.99.0.7 as 64512;\n  import none;\n  export none;\n");
  lab.Birdc("a", "configure");
  const std::string config =
      lab.WriteFile("noroutes.yml", "bird:\n  sockets: [" + lab.SocketPath("a") +
                                        "]\n  interval: 1s\n  timeout: 1s\n"
                                        "probes:\n"
                                        "  tcp: {enabled: false, interval: 1s, timeout: 500ms}\n"
                                        "  icmp: {enabled: false}\n"
                                        "  mtu: {enabled: false}\n"
                                        "  listener: {enabled: false}\n"
                                        "clock: {peer_offset: {enabled: false}, chrony: {enabled: "
                                        "false}}\n"
                                        "diagnosis: {no_routes_after: 2s}\n");
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  ExpectCause(exporter, lab, "Mesh_10_99_0_7", "no_routes", 20s);
  // b's session carries routes both ways: healthy.
  ExpectCause(exporter, lab, "Mesh_10_99_0_1", "healthy", 5s);
  // With every peer type exempt, the same session is healthy.
  const CommandResult r = RunCommand(
      {"ip", "netns", "exec", lab.Netns("a"), CBE_EXPORTER_PATH, "check",
       "--config.file=" + lab.WriteFile("noroutes-off.yml",
                                        "bird:\n  sockets: [" + lab.SocketPath("a") +
                                            "]\nprobes: {tcp: {enabled: false}, icmp: {enabled: "
                                            "false}, mtu: {enabled: false}}\n"
                                            "clock: {peer_offset: {enabled: false}, chrony: "
                                            "{enabled: false}}\n"
                                            "diagnosis: {no_routes_after: 2s, "
                                            "no_routes_peer_types: [global]}\n"),
       "--output", "json"},
      30s);
  INFO(r.out << r.err);
  CHECK(r.out.find("\"cause\": \"no_routes\"") == std::string::npos);
}

TEST_CASE("evidence: this node's router ID on a container bridge, found by its interface",
          "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // An address no list knows, on a bridge named as Docker names its own: only the interface
  // that holds it (netlink) tells it is wrong.
  const auto in_a = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", lab.Netns("a")});
    const CommandResult r = RunCommand(argv);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  };
  in_a({"ip", "link", "add", "docker0", "type", "bridge"});
  in_a({"ip", "addr", "add", "10.98.0.5/24", "dev", "docker0"});
  in_a({"ip", "link", "set", "docker0", "up"});
  Replace(lab.Dir() + "/a/bird.conf", "router id 10.99.0.5;", "router id 10.98.0.5;");
  lab.BirdStop("a");
  lab.BirdStart("a");
  ExporterProcess exporter(lab.Netns("a"), ProbesOffConfig(lab), kPort,
                           lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  // c has no BIRD: its session fails, and the cause is the node's own address.
  ExpectCause(exporter, lab, "Mesh_10_99_0_2", "node_address", 15s);
  std::string page;
  const bool named = PollUntil(5s, [&] {
    page = exporter.Get("/");
    return page.find("this node&#39;s router ID 10.98.0.5 is on docker0, Docker&#39;s bridge") !=
           std::string::npos;
  });
  INFO(page);
  CHECK(named);
}

TEST_CASE("evidence: a restarted exporter names a refused peer within one BIRD round",
          "[integration][diagnosis]") {
  Lab lab(BirdFlavour::kBird1);
  // The default intervals (BIRD every 5 s, port probe every 30 s with a 2 s timeout).
  const std::string config =
      lab.WriteFile("defaults.yml", "bird:\n  sockets: [" + lab.SocketPath("a") + "]\n");
  const auto start = std::chrono::steady_clock::now();
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  // One BIRD round plus one probe timeout, and the exporter's own start.
  ExpectCause(exporter, lab, "Mesh_10_99_0_2", "port_closed", 5s + 2s + 3s);
  INFO("named after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count()
                      << " ms");
}

}  // namespace
}  // namespace cbe::testing

namespace cbe::testing {
namespace {

// The Calico-rendered lab, probes off: c refuses (RST), d drops tcp/179 (BIRD in Connect, no
// error: only how long it has been there says "filtered", so this needs BIRD's state change
// time right).
void RunProbesOffOnCalicoRendered(BirdFlavour flavour) {
  Lab lab(flavour);
  INFO(FlavourName(flavour) << " lab " << lab.Prefix());
  std::string sockets = lab.SocketPath("a");
  if (HasBird6(flavour)) {
    sockets += ", " + lab.SocketPath("a", /*v6=*/true);
  }
  const std::string config =
      lab.WriteFile("evidence.yml", "bird:\n  sockets: [" + sockets +
                                        "]\n  interval: 1s\n  timeout: 1s\n"
                                        "probes:\n"
                                        "  tcp: {enabled: false, interval: 1s, timeout: 500ms}\n"
                                        "  icmp: {enabled: false}\n"
                                        "  mtu: {enabled: false}\n"
                                        "  listener: {enabled: false}\n"
                                        "clock: {peer_offset: {enabled: false}, chrony: "
                                        "{enabled: false}}\n");
  ExporterProcess exporter(lab.Netns("a"), config, kPort, lab.Dir() + "/exporter.log");
  REQUIRE(exporter.WaitReady(15s));
  ExpectCause(exporter, lab, "Mesh_10_99_0_2", "port_closed", 10s);
  ExpectCause(exporter, lab, "Mesh_fd00_99__2", "port_closed", 10s);
  ExpectCause(exporter, lab, "Mesh_10_99_0_3", "port_filtered", 15s);
  const CommandResult r = RunCommand({"ip", "netns", "exec", lab.Netns("a"), CBE_EXPORTER_PATH,
                                      "check", "--config.file=" + config, "--output", "json"},
                                     30s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("\"evidence\": \"BIRD: in Connect for") != std::string::npos);
}

TEST_CASE("evidence: probes off on Calico's fork", "[integration][diagnosis][calico_fork]") {
  RunProbesOffOnCalicoRendered(BirdFlavour::kCalicoFork);
}

TEST_CASE("evidence: probes off on BIRD 3", "[integration][diagnosis][bird3]") {
  RunProbesOffOnCalicoRendered(BirdFlavour::kBird3);
}

}  // namespace
}  // namespace cbe::testing
