#pragma once

// Whether this node listens on the BGP port, from /proc/net/tcp and /proc/net/tcp6.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"
#include "probes/probe.h"

namespace cbe::probes {

struct ProcNetTcpEntry {
  std::uint16_t local_port = 0;
  std::uint8_t state = 0;   // 0x0A = LISTEN.
  std::uint64_t inode = 0;  // Of the socket: /proc/PID/fd/N links to "socket:[inode]".
};

// Pure parser of /proc/net/tcp or /proc/net/tcp6. Malformed lines are counted.
struct ProcNetTcp {
  std::vector<ProcNetTcpEntry> entries;
  std::size_t malformed_lines = 0;
};
ProcNetTcp ParseProcNetTcp(std::string_view text);

bool HasListener(const ProcNetTcp& table, std::uint16_t port);
// The socket inodes of the listeners on `port`.
std::vector<std::uint64_t> ListenerInodes(const ProcNetTcp& table, std::uint16_t port);

// A process that holds one of the sockets asked for.
struct SocketHolder {
  int pid = 0;
  std::string command;  // /proc/PID/comm.
};

// The processes under `proc_root` with a descriptor on one of `inodes`, by pid. Processes this
// one may not look into (another user, another PID namespace) are simply not found.
std::vector<SocketHolder> FindSocketHolders(const std::vector<std::uint64_t>& inodes,
                                            const std::string& proc_root = "/proc");

// "gobgpd (pid 4242), bird (pid 17)"; "" for none.
std::string DescribeHolders(const std::vector<SocketHolder>& holders);

struct ListenerResult {
  bool ipv4_known = false;  // The table could be read.
  bool ipv4 = false;
  bool ipv6_known = false;
  bool ipv6 = false;
  std::string error;
  // Of the listeners on the port, per family (BIRD's IPv6 sockets are IPV6_V6ONLY).
  std::vector<std::uint64_t> ipv4_inodes;
  std::vector<std::uint64_t> ipv6_inodes;
  // Who holds them, when asked for (ProbeListener's find_holders).
  std::optional<std::vector<SocketHolder>> ipv4_holders;
  std::optional<std::vector<SocketHolder>> ipv6_holders;
};

// Reads `/proc/net/tcp{,6}` under `proc_root` (default /proc); with `find_holders`, also which
// processes hold the listening sockets (a walk over every process's descriptors: only when it
// matters, e.g. when BIRD says it has no listening socket).
ListenerResult ProbeListener(std::uint16_t port, const std::string& proc_root = "/proc",
                             bool find_holders = false);

// `probes.listener` of the config file.
struct ListenerSettings : ProbeSettings {
  static constexpr std::string_view kProbe = "listener";
};

// The listener prober's part of the snapshot.
struct ListenerSnapshot : ProbeResult {
  static constexpr std::string_view kProbe = "listener";
  ListenerResult result;
};

// The row of the probe table: whether this node listens on the BGP port (probes.tcp.port),
// calico_bgp_listener_up.
const Prober& ListenerProber();

}  // namespace cbe::probes
