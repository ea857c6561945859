#pragma once

// Least privilege. The exporter needs CAP_NET_RAW (raw sockets of the ICMP, TCP SYN and path-MTU
// probes) and the owner's access to BIRD's control socket (root:root 0755 in calico-node: uid 0,
// no capability). Started as root, it keeps CAP_NET_RAW and drops every other capability from
// all of its sets, bounding set included, before any thread starts. A probe that then lacks a
// right reports `unprobed` with the reason (probes/net/socket_util.cc). The daemon never runs a
// shell or another program, so no_new_privs costs nothing.

#include <sys/capability.h>

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/base/result.h"

namespace cbe {

struct CapabilityReport {
  bool changed = false;          // Anything was dropped.
  bool bounding_limited = true;  // The bounding set holds only the kept capabilities.
  std::string before;            // cap_to_text(3) of the process' sets, e.g. "=ep".
  std::string after;             // E.g. "cap_net_raw=ep".
  std::string kept;              // "cap_net_raw", or "none".
};

// CAP_NET_RAW, and CAP_NET_BIND_SERVICE when the HTTP server listens on a port below 1024
// (ListenAddress::port): it binds again whenever a new web config changes TLS.
std::vector<cap_value_t> NeededCapabilities(std::uint16_t listen_port);

// Keeps those of `keep` the process has (effective and permitted) and drops all others from the
// effective, permitted and inheritable sets; clears the ambient set; shrinks the bounding set to
// `keep` when the process may (CAP_SETPCAP); sets no_new_privs. Capabilities belong to threads:
// fails unless the process has exactly one thread. A process without capabilities beyond `keep`
// gets only no_new_privs.
Result<CapabilityReport> DropCapabilities(const std::vector<cap_value_t>& keep);

// The capabilities of a set (CapEff/CapPrm/CapBnd/... from /proc/PID/status) as names, e.g.
// "cap_net_raw", for tests and logs.
std::string CapabilityNames(unsigned long long mask);  // NOLINT(google-runtime-int)

}  // namespace cbe
