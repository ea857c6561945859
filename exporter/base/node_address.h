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

}  // namespace cbe
