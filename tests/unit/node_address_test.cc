// What makes an address, or the interface that holds it, wrong for a node's BGP.

#include "exporter/base/node_address.h"

#include <catch2/catch.hpp>

namespace cbe {
namespace {

TEST_CASE("node address: loopback, link-local, unspecified and container bridges", "[unit]") {
  CHECK(SuspiciousNodeAddress("10.99.0.5").empty());
  CHECK(SuspiciousNodeAddress("fd00:99::5").empty());
  CHECK(SuspiciousNodeAddress("127.0.0.1") == "a loopback address");
  CHECK(SuspiciousNodeAddress("::1") == "a loopback address");
  CHECK(SuspiciousNodeAddress("169.254.10.1") == "a link-local address");
  CHECK(SuspiciousNodeAddress("fe80::1") == "a link-local address");
  CHECK(SuspiciousNodeAddress("febf::1") == "a link-local address");
  CHECK(SuspiciousNodeAddress("fec0::1").empty());
  CHECK(SuspiciousNodeAddress("0.0.0.0") == "the unspecified address");
  CHECK(SuspiciousNodeAddress("172.17.0.1").find("docker0") != std::string::npos);
  CHECK(SuspiciousNodeAddress("192.168.122.1").find("virbr0") != std::string::npos);
}

TEST_CASE("node address: the interface that holds it", "[unit]") {
  CHECK(SuspiciousNodeInterface("eth0", "", false).empty());
  CHECK(SuspiciousNodeInterface("bond0", "bond", false).empty());
  CHECK(SuspiciousNodeInterface("br0", "bridge", false).empty());  // A host's own bridge.
  CHECK(SuspiciousNodeInterface("lo", "", true) == "on lo, the loopback interface");
  CHECK(SuspiciousNodeInterface("docker0", "bridge", false) ==
        "on docker0, Docker's bridge: address autodetection picked the wrong interface (set "
        "IP_AUTODETECTION_METHOD)");
  CHECK(SuspiciousNodeInterface("br-3f2a1b", "bridge", false).find("Docker user-defined") !=
        std::string::npos);
  CHECK(SuspiciousNodeInterface("cni0", "bridge", false).find("a CNI bridge") != std::string::npos);
  CHECK(SuspiciousNodeInterface("virbr0", "bridge", false).find("libvirt") != std::string::npos);
  CHECK(SuspiciousNodeInterface("docker0", "", false).empty());   // Not a bridge after all.
  CHECK(SuspiciousNodeInterface("eth0", "veth", false).empty());  // A node that is a container.
  CHECK(SuspiciousNodeInterface("tunl0", "ipip", false) ==
        "on tunl0, an ipip tunnel: BGP must run over the underlay, not a tunnel (set "
        "IP_AUTODETECTION_METHOD)");
  CHECK(SuspiciousNodeInterface("vxlan.calico", "vxlan", false).find("tunnel") !=
        std::string::npos);
}

}  // namespace
}  // namespace cbe
