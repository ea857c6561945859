#pragma once

// Clock checks: the kernel's own view (adjtimex), the configured NTP servers, chronyd's tracking
// report and each BGP peer's clock (ICMP timestamps), gathered by one call per round.
// Plain data: no prometheus-cpp here.
//
// Sign convention everywhere: offset = the other clock (server, reference, peer) minus this
// node's clock, positive when the other one is ahead (node_exporter's node_ntp_offset_seconds).

#include <sys/timex.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/clock/chrony.h"
#include "probes/clock/icmp_timestamp.h"
#include "probes/clock/ntp.h"
#include "probes/net/address.h"
#include "probes/probe.h"

namespace cbe::probes {

// ntpstat's limit: a maximum error of 16 s or more means not synchronised (NTP_PHASE_LIMIT).
inline constexpr double kUnsyncMaxErrorSeconds = 16.0;

struct KernelClock {
  // As ntpstat decides: STA_UNSYNC clear and the maximum error below 16 s.
  bool synchronized = false;
  double estimated_error_seconds = 0;  // timex.esterror (microseconds).
  double max_error_seconds = 0;        // timex.maxerror (microseconds).
  // The offset the kernel PLL still has to correct (timex.offset, ns with STA_NANO, else us),
  // i.e. reference minus this clock as the NTP daemon last told the kernel.
  double offset_seconds = 0;
  double frequency_ppm = 0;               // timex.freq (ppm with a 16-bit fraction).
  int status = 0;                         // STA_* bits.
  std::vector<std::string> status_flags;  // "PLL", "UNSYNC", "NANO", ... in bit order.
  int state = 0;                          // adjtimex's return: TIME_OK .. TIME_ERROR.
  std::string state_name;                 // "ok", "insert", "delete", "oop", "wait", "error".
};

// Pure: the fields above from a timex that adjtimex filled and adjtimex's return value.
KernelClock KernelClockFromTimex(const timex& tx, int state);
// adjtimex(2) with modes = 0: reads only, needs no privilege.
Result<KernelClock> ReadKernelClock();

struct ClockRoundOptions {
  std::vector<std::string> ntp_servers;  // "10.0.0.53", "ntp.internal:123"; none by default.
  bool chrony_enabled = true;
  std::string chrony_address = "127.0.0.1:323";
  bool peer_offset_enabled = true;
  std::chrono::milliseconds timeout{1000};  // Of each part; the parts run concurrently.
  int peer_requests = 3;                    // ICMP timestamp requests per peer.
  int packets_per_second = 5000;            // Rate limit of those requests.
};

struct ClockRoundResult {
  std::optional<KernelClock> kernel;
  std::string kernel_error;
  std::vector<NtpServerResult> ntp;  // One per configured server, in order.
  bool chrony_enabled = false;
  std::optional<ChronyTracking> chrony;  // When chronyd answered.
  std::string chrony_error;              // Why not (no chronyd, refused, malformed reply).
  std::vector<PeerClockResult> peers;    // One per peer when peer offsets are enabled.
};

// One round: adjtimex, then the NTP servers, chronyd and the peers at the same time, each part
// bounded by `opts.timeout`. Never throws.
ClockRoundResult RunClockRound(const ClockRoundOptions& opts,
                               const std::vector<net::IpAddress>& peers, const Clock& clock);

// `clock` of the config file (a section at the top, not under `probes`).
struct ClockSettings : ProbeSettings {
  static constexpr std::string_view kProbe = "clock";
  ClockSettings() { interval = std::chrono::minutes(1); }
  std::chrono::milliseconds max_offset{100};  // Beyond it, a measured offset is a cause.
  std::chrono::milliseconds timeout{1000};
  std::vector<std::string> ntp_servers;  // Opt-in: none by default.
  bool chrony_enabled = true;
  std::string chrony_address = "127.0.0.1:323";
  bool peer_offset_enabled = true;
};

// The clock prober's part of the snapshot.
struct ClockSnapshot : ProbeResult {
  static constexpr std::string_view kProbe = "clock";
  ClockRoundResult result;
};

// The row of the probe table: the kernel clock, NTP servers, chronyd and the peers' clocks,
// calico_bgp_clock_*, _ntp_*, _chrony_* and calico_bgp_peer_clock_offset_seconds.
const Prober& ClockProber();

}  // namespace cbe::probes
