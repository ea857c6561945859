#include "exporter/base/node_address.h"

namespace cbe {
namespace {

// Addresses container runtimes and hypervisors give their own bridges (or NAT): a node that
// autodetects one of these has picked the wrong interface.
struct WellKnownAddress {
  const char* ip;
  const char* what;
};
constexpr WellKnownAddress kBridgeAddresses[] = {
    {"172.17.0.1", "Docker's default bridge docker0"},
    {"172.18.0.1", "the first Docker user-defined bridge"},
    {"10.88.0.1", "Podman/containerd CNI bridge cni0 (10.88.0.0/16)"},
    {"10.85.0.1", "CRI-O's default bridge (10.85.0.0/16)"},
    {"192.168.122.1", "libvirt's default bridge virbr0"},
    {"10.0.2.15", "the VirtualBox/QEMU user-mode NAT address"},
    {"10.0.2.2", "the VirtualBox/QEMU user-mode NAT gateway"},
};

// Interface names container runtimes, CNI plugins and hypervisors give their bridges.
struct BridgeName {
  const char* prefix;
  const char* what;
};
constexpr BridgeName kContainerBridges[] = {
    {"docker", "Docker's bridge"},
    {"br-", "a Docker user-defined bridge"},
    {"cni", "a CNI bridge"},
    {"cbr", "a kubenet bridge"},
    {"podman", "Podman's bridge"},
    {"virbr", "libvirt's bridge"},
    {"lxcbr", "LXC's bridge"},
    {"lxdbr", "LXD's bridge"},
    {"kube-bridge", "kube-router's bridge"},
};

// Link kinds of tunnels: Calico's own (tunl0 ipip, vxlan.calico, wireguard.cali) and others.
constexpr std::string_view kTunnelKinds[] = {"ipip", "ip6tnl", "vxlan", "wireguard",
                                             "gre",  "geneve", "sit"};

}  // namespace

std::string SuspiciousNodeInterface(std::string_view name, std::string_view kind, bool loopback) {
  const std::string on = "on " + std::string(name);
  if (loopback) {
    return on + ", the loopback interface";
  }
  if (kind == "bridge") {
    for (const BridgeName& b : kContainerBridges) {
      if (name.starts_with(b.prefix)) {
        return on + ", " + b.what +
               ": address autodetection picked the wrong interface (set IP_AUTODETECTION_METHOD)";
      }
    }
    return "";
  }
  // A veth is not suspicious: it is the node's own eth0 where nodes are containers (kind, k3d)
  // or network namespaces, as in this project's labs.
  for (std::string_view tunnel : kTunnelKinds) {
    if (kind == tunnel) {
      return on + ", " + (kind.front() == 'i' ? "an " : "a ") + std::string(kind) +
             " tunnel: BGP must run over the underlay, not a tunnel (set IP_AUTODETECTION_METHOD)";
    }
  }
  return "";
}

std::string SuspiciousNodeAddress(std::string_view ip) {
  for (const WellKnownAddress& w : kBridgeAddresses) {
    if (ip == w.ip) {
      return std::string("the address of ") + w.what +
             ": address autodetection picked the wrong "
             "interface (set IP_AUTODETECTION_METHOD)";
    }
  }
  if (ip.find(':') == std::string_view::npos) {
    if (ip.starts_with("127.")) {
      return "a loopback address";
    }
    if (ip.starts_with("169.254.")) {
      return "a link-local address";
    }
    if (ip == "0.0.0.0") {
      return "the unspecified address";
    }
    return "";
  }
  if (ip == "::1") {
    return "a loopback address";
  }
  if (ip == "::") {
    return "the unspecified address";
  }
  // fe80::/10: the first 10 bits are 1111111010.
  const std::string_view first = ip.substr(0, ip.find(':'));
  if (first.size() == 4 && first.starts_with("fe") && first[2] >= '8' && first[2] <= 'b') {
    return "a link-local address";
  }
  return "";
}

}  // namespace cbe
