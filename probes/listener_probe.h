#pragma once

// Whether this node listens on the BGP port, from /proc/net/tcp and /proc/net/tcp6.

#include <cstdint>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"

namespace cbe::probes {

struct ProcNetTcpEntry {
  std::uint16_t local_port = 0;
  std::uint8_t state = 0;  // 0x0A = LISTEN.
};

// Pure parser of /proc/net/tcp or /proc/net/tcp6. Malformed lines are counted.
struct ProcNetTcp {
  std::vector<ProcNetTcpEntry> entries;
  std::size_t malformed_lines = 0;
};
ProcNetTcp ParseProcNetTcp(std::string_view text);

bool HasListener(const ProcNetTcp& table, std::uint16_t port);

struct ListenerResult {
  bool ipv4_known = false;  // The table could be read.
  bool ipv4 = false;
  bool ipv6_known = false;
  bool ipv6 = false;
  std::string error;
};

// Reads `/proc/net/tcp{,6}` under `proc_root` (default /proc).
ListenerResult ProbeListener(std::uint16_t port, const std::string& proc_root = "/proc");

}  // namespace cbe::probes
