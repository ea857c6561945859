#include "probes/clock/clock_probe.h"

#include <cerrno>
#include <exception>
#include <thread>

#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

struct StatusBit {
  int bit;
  const char* name;
};

constexpr StatusBit kStatusBits[] = {
    {STA_PLL, "PLL"},
    {STA_PPSFREQ, "PPSFREQ"},
    {STA_PPSTIME, "PPSTIME"},
    {STA_FLL, "FLL"},
    {STA_INS, "INS"},
    {STA_DEL, "DEL"},
    {STA_UNSYNC, "UNSYNC"},
    {STA_FREQHOLD, "FREQHOLD"},
    {STA_PPSSIGNAL, "PPSSIGNAL"},
    {STA_PPSJITTER, "PPSJITTER"},
    {STA_PPSWANDER, "PPSWANDER"},
    {STA_PPSERROR, "PPSERROR"},
    {STA_CLOCKERR, "CLOCKERR"},
    {STA_NANO, "NANO"},
    {STA_MODE, "MODE"},
    {STA_CLK, "CLK"},
};

const char* StateName(int state) {
  switch (state) {
    case TIME_OK:
      return "ok";
    case TIME_INS:
      return "insert";
    case TIME_DEL:
      return "delete";
    case TIME_OOP:
      return "oop";
    case TIME_WAIT:
      return "wait";
    case TIME_ERROR:
      return "error";
    default:
      return "unknown";
  }
}

// Runs `fn` on its own thread; if no thread can be started, runs it here.
template <typename F>
std::thread Spawn(F fn) {
  try {
    return std::thread(fn);
  } catch (const std::system_error&) {
    fn();
    return {};
  }
}

}  // namespace

KernelClock KernelClockFromTimex(const timex& tx, int state) {
  KernelClock k;
  k.status = tx.status;
  for (const StatusBit& b : kStatusBits) {
    if ((tx.status & b.bit) != 0) {
      k.status_flags.emplace_back(b.name);
    }
  }
  k.estimated_error_seconds = static_cast<double>(tx.esterror) / 1e6;
  k.max_error_seconds = static_cast<double>(tx.maxerror) / 1e6;
  k.offset_seconds = static_cast<double>(tx.offset) / ((tx.status & STA_NANO) != 0 ? 1e9 : 1e6);
  k.frequency_ppm = static_cast<double>(tx.freq) / 65536.0;
  k.synchronized = (tx.status & STA_UNSYNC) == 0 && k.max_error_seconds < kUnsyncMaxErrorSeconds;
  k.state = state;
  k.state_name = StateName(state);
  return k;
}

Result<KernelClock> ReadKernelClock() {
  timex tx{};
  tx.modes = 0;
  const int state = ::adjtimex(&tx);
  if (state < 0) {
    return Error{net::ErrnoText("adjtimex", errno)};
  }
  return KernelClockFromTimex(tx, state);
}

ClockRoundResult RunClockRound(const ClockRoundOptions& opts,
                               const std::vector<net::IpAddress>& peers, const Clock& clock) {
  ClockRoundResult r;
  if (auto k = ReadKernelClock()) {
    r.kernel = std::move(*k);
  } else {
    r.kernel_error = k.error().message;
  }
  // Threads inherit the caller's network namespace (setns is per thread; clone copies it).
  std::thread ntp_thread;
  if (!opts.ntp_servers.empty()) {
    ntp_thread = Spawn([&] {
      NtpQueryOptions o;
      o.timeout = opts.timeout;
      r.ntp = QueryNtpServers(opts.ntp_servers, o, clock);
    });
  }
  std::thread peer_thread;
  if (opts.peer_offset_enabled && !peers.empty()) {
    peer_thread = Spawn([&] {
      PeerClockOptions o;
      o.timeout = opts.timeout;
      o.count = opts.peer_requests;
      o.packets_per_second = opts.packets_per_second;
      r.peers = RunPeerClockProbe(peers, o, clock);
    });
  }
  r.chrony_enabled = opts.chrony_enabled;
  if (opts.chrony_enabled) {
    if (auto t = QueryChronyTracking(opts.chrony_address, opts.timeout, clock)) {
      r.chrony = std::move(*t);
    } else {
      r.chrony_error = t.error().message;
    }
  }
  if (ntp_thread.joinable()) {
    ntp_thread.join();
  }
  if (peer_thread.joinable()) {
    peer_thread.join();
  }
  return r;
}

}  // namespace cbe::probes
