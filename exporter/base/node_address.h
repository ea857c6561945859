#pragma once

// Addresses a node should never use as its BGP address or router ID: loopback, link-local,
// unspecified, and the well-known addresses of container and VM bridges (what address
// autodetection picks on the wrong interface). Shared by the intent findings and the
// diagnosis (cause node_address).

#include <string>
#include <string_view>

namespace cbe {

// Why `ip` (canonical text, "172.17.0.1", "fe80::1") is a suspicious node address; "" if not.
std::string SuspiciousNodeAddress(std::string_view ip);

// Why the interface that holds a node's address is the wrong one for BGP; "" if it may be right.
// `kind` is rtnetlink's link kind ("bridge", "veth", "vxlan", ...; "" for a NIC). A bridge is
// suspicious only with a name container runtimes and hypervisors give theirs (docker0, cni0,
// virbr0, br-<id>, ...): a host's own br0 in front of its NIC is a normal BGP interface. Nor is
// a veth (the eth0 of a node that is a container).
std::string SuspiciousNodeInterface(std::string_view name, std::string_view kind, bool loopback);

}  // namespace cbe
