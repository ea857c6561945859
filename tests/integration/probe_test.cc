// The peer probes against real namespaces: a routed lab (netlab.sh: a <-> r <-> z with a
// 1400-byte link between r and z), real BIRD on a and z, iptables on the far side.

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "exporter/core/probe_rounds.h"
#include "lab.h"
#include "probes/bird/client.h"
#include "probes/bird/parser.h"
#include "probes/icmp_probe.h"
#include "probes/mtu_probe.h"
#include "probes/net/stream.h"
#include "probes/tcp_syn_probe.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;
using probes::PortState;

const net::IpAddress kZ4 = *net::IpAddress::Parse("10.98.2.2");
const net::IpAddress kZ6 = *net::IpAddress::Parse("fd00:98:2::2");
const net::IpAddress kNoRoute = *net::IpAddress::Parse("10.97.0.1");

struct BgpView {
  std::string state;
  std::string since;
};

// The session's BGP state and BIRD's "since", read over the control socket.
BgpView ReadSession(const std::string& socket) {
  SystemClock clock;
  net::UnixStreamConnector connector(&clock);
  bird::Client client(bird::ClientOptions{socket, 2000ms, 1 << 20}, &connector, &clock);
  auto reply = client.Query("show protocols all");
  REQUIRE(reply.ok());
  auto parsed = bird::ParseShowProtocols(*reply);
  REQUIRE(parsed.ok());
  for (const auto& p : parsed->protocols) {
    if (p.is_bgp()) {
      return {p.bgp_state.str(), p.since_text.str()};
    }
  }
  FAIL("no BGP protocol in " << socket);
  return {};
}

// A fresh namespace's IPv6 neighbour discovery can take a second or two (a lost first
// solicitation is retried after 1 s): wait until z answers echoes on both families.
bool WaitReachable(const NetLab& lab) {
  return PollUntil(15s, [&] {
    std::vector<probes::IcmpResult> r;
    RunInNetns(lab.Netns("a"), [&] {
      SystemClock clock;
      probes::IcmpProbeOptions opts;
      opts.count = 1;
      opts.timeout = 200ms;
      r = probes::RunIcmpProbe({kZ4, kZ6}, opts, clock);
    });
    return r[0].received == 1 && r[1].received == 1;
  });
}

bool WaitEstablished(const NetLab& lab) {
  return PollUntil(30s, [&] {
    return ReadSession(lab.Socket("a")).state == "Established" &&
           ReadSession(lab.Socket("z")).state == "Established";
  });
}

std::map<std::string, probes::PortResult> Probe(const NetLab& lab,
                                                const std::vector<net::IpAddress>& peers,
                                                std::chrono::milliseconds timeout = 1000ms) {
  std::vector<probes::PortResult> results;
  RunInNetns(lab.Netns("a"), [&] {
    SystemClock clock;
    probes::TcpProbeOptions opts;
    opts.timeout = timeout;
    results = probes::RunSynProbe(peers, opts, clock);
  });
  std::map<std::string, probes::PortResult> by_peer;
  for (auto& r : results) {
    by_peer[r.peer.ToString()] = r;
  }
  return by_peer;
}

// The port state of one peer, and why, for a failure message.
probes::PortResult StateOf(const NetLab& lab, const net::IpAddress& peer) {
  return Probe(lab, {peer})[peer.ToString()];
}

TEST_CASE("probes: half-open TCP states against real BIRD and iptables", "[integration][probes]") {
  NetLab lab;
  REQUIRE(WaitEstablished(lab));
  REQUIRE(WaitReachable(lab));

  SECTION("a listening BIRD is open; no IPv6 listener is closed; no route is unreachable") {
    auto r = Probe(lab, {kZ4, kZ6, kNoRoute});
    CHECK(r["10.98.2.2"].state == PortState::kOpen);
    CHECK(r["10.98.2.2"].reason == "SYN-ACK");
    CHECK(r["10.98.2.2"].rtt_seconds.has_value());
    CHECK(r["fd00:98:2::2"].state == PortState::kClosed);
    CHECK(r["fd00:98:2::2"].reason == "RST");
    CHECK(r["10.97.0.1"].state == PortState::kUnreachable);
  }
  SECTION("DROP is filtered") {
    lab.Exec("z", {"iptables", "-A", "INPUT", "-p", "tcp", "--dport", "179", "-j", "DROP"});
    auto r = Probe(lab, {kZ4}, 500ms);
    CHECK(r["10.98.2.2"].state == PortState::kFiltered);
    CHECK(r["10.98.2.2"].reason == "no answer within 500ms");
  }
  SECTION("REJECT with its default icmp-port-unreachable is filtered") {
    lab.Exec("z", {"iptables", "-A", "INPUT", "-p", "tcp", "--dport", "179", "-j", "REJECT"});
    auto r = Probe(lab, {kZ4});
    CHECK(r["10.98.2.2"].state == PortState::kFiltered);
    CHECK(r["10.98.2.2"].reason == "icmp type 3 code 3 (port unreachable) from 10.98.2.2");
  }
  SECTION("REJECT with icmp-admin-prohibited is filtered") {
    lab.Exec("z", {"iptables", "-A", "INPUT", "-p", "tcp", "--dport", "179", "-j", "REJECT",
                   "--reject-with", "icmp-admin-prohibited"});
    auto r = Probe(lab, {kZ4});
    CHECK(r["10.98.2.2"].state == PortState::kFiltered);
    CHECK(r["10.98.2.2"].reason ==
          "icmp type 3 code 13 (communication administratively prohibited) from 10.98.2.2");
  }
  SECTION("REJECT with tcp-reset is closed") {
    lab.Exec("z", {"iptables", "-A", "INPUT", "-p", "tcp", "--dport", "179", "-j", "REJECT",
                   "--reject-with", "tcp-reset"});
    {
      const auto r = StateOf(lab, kZ4);
      INFO(r.reason);
      CHECK(r.state == PortState::kClosed);
    }
  }
  SECTION("the peer's BIRD stopped is closed") {
    lab.BirdStop("z");
    {
      const auto r = StateOf(lab, kZ4);
      INFO(r.reason);
      CHECK(r.state == PortState::kClosed);
    }
  }
  SECTION("a router answering host-unreachable is unreachable") {
    lab.Exec("r", {"iptables", "-A", "FORWARD", "-d", "10.98.2.2", "-j", "REJECT", "--reject-with",
                   "icmp-host-unreachable"});
    lab.Exec("r", {"ip6tables", "-A", "FORWARD", "-d", "fd00:98:2::2", "-j", "REJECT",
                   "--reject-with", "icmp6-addr-unreachable"});
    auto r = Probe(lab, {kZ4, kZ6});
    CHECK(r["10.98.2.2"].state == PortState::kUnreachable);
    CHECK(r["10.98.2.2"].reason == "icmp type 3 code 1 (host unreachable) from 10.98.1.1");
    CHECK(r["fd00:98:2::2"].state == PortState::kUnreachable);
    CHECK(r["fd00:98:2::2"].reason.view().find("icmp6 type 1 code 3 (address unreachable)") == 0);
  }
}

// Lines in a BIRD log (netlab.sh logs protocol state changes with `debug { states }`).
int StateChanges(const std::string& log) {
  std::ifstream in(log);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n += line.find("Mesh_") != std::string::npos &&
                 line.find("State changed to") != std::string::npos
             ? 1
             : 0;
  }
  return n;
}

TEST_CASE("probes: many rounds of every probe leave an Established session alone",
          "[integration][probes]") {
  NetLab lab;
  REQUIRE(WaitEstablished(lab));
  REQUIRE(WaitReachable(lab));
  const std::string a_log = lab.Dir() + "/a/bird.log";
  const std::string z_log = lab.Dir() + "/z/bird.log";
  const int a_before = StateChanges(a_log);
  const int z_before = StateChanges(z_log);
  REQUIRE(a_before > 0);  // The log does record state changes: "up" after the start.

  RunInNetns(lab.Netns("a"), [&] {
    SystemClock clock;
    probes::TcpProbeOptions tcp;
    tcp.timeout = 300ms;
    probes::IcmpProbeOptions icmp;
    icmp.timeout = 300ms;
    probes::MtuProbeOptions mtu;
    mtu.timeout = 300ms;
    for (int round = 0; round < 20; ++round) {
      auto ports = probes::RunSynProbe({kZ4, kZ6}, tcp, clock);
      REQUIRE(ports[0].state == PortState::kOpen);  // Each round really reached BIRD.
      probes::RunIcmpProbe({kZ4, kZ6}, icmp, clock);
    }
    probes::RunMtuProbe({kZ4, kZ6}, mtu, clock);
  });

  // A session torn down by a probe goes through stop/start on at least one side within a
  // second (graceful restart detection is immediate; the hold timer is not involved).
  const bool changed = PollUntil(
      3s, [&] { return StateChanges(a_log) != a_before || StateChanges(z_log) != z_before; });
  CHECK_FALSE(changed);
  CHECK(ReadSession(lab.Socket("a")).state == "Established");
  CHECK(ReadSession(lab.Socket("z")).state == "Established");

  SECTION("negative control: a full connect from the node does restart the peer's session") {
    // What `nc -zv peer 179` or a blackbox tcp probe does. If the SYN probe ever turned into
    // this, the check above would fail the same way.
    RunInNetns(lab.Netns("a"), [&] {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_storage to{};
      const socklen_t len = kZ4.ToSockaddr(179, &to);
      REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), len) == 0);
      ::close(fd);
    });
    CHECK(PollUntil(15s, [&] { return StateChanges(z_log) > z_before; }));
  }
}

TEST_CASE("probes: path MTU 1400 behind a 1500-byte interface, also in a PMTU black hole",
          "[integration][probes]") {
  NetLab lab;
  REQUIRE(WaitReachable(lab));
  const auto search = [&] {  // Results for 10.98.2.2 and fd00:98:2::2.
    std::vector<probes::MtuResult> results;
    RunInNetns(lab.Netns("a"), [&] {
      SystemClock clock;
      probes::MtuProbeOptions opts;
      opts.timeout = 500ms;
      results = probes::RunMtuProbe({kZ4, kZ6}, opts, clock);
    });
    for (const auto& r : results) {
      WARN(r.peer.ToString() << ": interface " << r.interface << " mtu "
                             << r.interface_mtu.value_or(0) << ", path " << r.path_mtu.value_or(0)
                             << " (" << r.reason << ")");
    }
    return results;
  };
  SECTION("routers send fragmentation-needed") {
    auto r = search();
    CHECK(r[0].interface == "eth0");
    CHECK(r[0].interface_mtu == 1500);
    CHECK(r[0].path_mtu == 1400);
    CHECK(r[1].interface_mtu == 1500);
    CHECK(r[1].path_mtu == 1400);
  }
  SECTION("the router's ICMP errors are dropped: a black hole") {
    lab.Exec("r", {"iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed",
                   "-j", "DROP"});
    lab.Exec("r", {"ip6tables", "-A", "OUTPUT", "-p", "icmpv6", "--icmpv6-type", "packet-too-big",
                   "-j", "DROP"});
    lab.Exec("a", {"ip", "route", "flush", "cache"});
    lab.Exec("a", {"ip", "-6", "route", "flush", "cache"});
    auto r = search();
    CHECK(r[0].interface_mtu == 1500);
    CHECK(r[0].path_mtu == 1400);
    CHECK(r[1].path_mtu == 1400);
  }
  SECTION("a peer that answers no echo has no path MTU") {
    lab.Exec("z", {"iptables", "-A", "INPUT", "-p", "icmp", "-j", "DROP"});
    auto r = search();
    CHECK(r[0].interface_mtu == 1500);
    CHECK_FALSE(r[0].path_mtu.has_value());
    CHECK(r[0].reason == "no echo reply even at the minimum size");
  }
}

TEST_CASE("probes: a tunnel MTU that does not fit the underlay is flagged",
          "[integration][probes]") {
  NetLab lab;
  // Without a lower device the kernel lets the MTU exceed what the underlay carries.
  lab.Exec("a",
           {"ip", "link", "add", "vxlan.calico", "type", "vxlan", "id", "4096", "dstport", "4789"});
  REQUIRE(WaitReachable(lab));
  Config config;
  config.static_peers.push_back(StaticPeer{"10.98.2.2", "z"});
  config.probes.Mutable<probes::MtuSettings>().timeout = 300ms;
  SnapshotStore store;
  SystemClock clock;
  ProbeRounds rounds(config, &store, &clock);
  const auto vxlan = [&] {
    std::shared_ptr<const probes::MtuSnapshot> snap;
    RunInNetns(lab.Netns("a"), [&] { snap = rounds.Run<probes::MtuSnapshot>(); });
    for (const auto& t : snap->tunnels) {
      if (t.interface == "vxlan.calico") {
        return t;
      }
    }
    FAIL("vxlan.calico not reported");
    return probes::TunnelResult{};
  };
  lab.Exec("a", {"ip", "link", "set", "vxlan.calico", "mtu", "1450"});
  auto fits = vxlan();
  CHECK(fits.kind == "vxlan");
  CHECK(fits.mtu == 1450);
  CHECK(fits.underlay_mtu == 1500);
  CHECK(fits.fits == true);
  lab.Exec("a", {"ip", "link", "set", "vxlan.calico", "mtu", "1500"});
  auto too_big = vxlan();
  CHECK(too_big.mtu == 1500);
  CHECK(too_big.fits == false);
}

TEST_CASE("probes: without CAP_NET_RAW the peers are unprobed and the exporter keeps serving",
          "[integration][probes]") {
  NetLab lab;
  const std::string config = lab.Dir() + "/exporter.yml";
  {
    std::ofstream out(config);
    out << "bird:\n  sockets: [" << lab.Socket("a") << "]\n  interval: 1s\n  timeout: 1s\n"
        << "peers:\n  static: [{address: 10.98.2.2, name: z}]\n"
        << "probes:\n  tcp: {interval: 1s, timeout: 500ms}\n"
        << "  icmp: {interval: 1s, timeout: 500ms}\n  mtu: {interval: 2s, timeout: 300ms}\n";
  }
  ::chmod(lab.Dir().c_str(), 0755);
  ::chmod(config.c_str(), 0644);
  ExporterProcess exporter(lab.Netns("a"), config, 9843, lab.Dir() + "/exporter.log", {},
                           {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", "--bounding-set=-all"});
  REQUIRE(exporter.WaitReady(15s));
  std::string metrics;
  const bool seen = PollUntil(15s, [&] {
    metrics = exporter.Get("/metrics");
    return MetricValue(metrics, "calico_bgp_peer_port_state",
                       {{"peer", "10.98.2.2"}, {"state", "unprobed"}}) == 1.0 &&
           MetricValue(metrics, "calico_bgp_probe_success", {{"probe", "tcp"}}) == 0.0 &&
           MetricValue(metrics, "calico_bgp_probe_success", {{"probe", "icmp"}}) == 0.0;
  });
  INFO(GrepLines(metrics, "probe") << exporter.LogTail());
  CHECK(seen);
  CHECK(exporter.Running());
  CHECK(exporter.LogTail().find("needs CAP_NET_RAW") != std::string::npos);
}

}  // namespace
}  // namespace cbe::testing
