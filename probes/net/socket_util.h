#pragma once

// Small RAII and helper functions for the probes' sockets.

#include <linux/filter.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/net/address.h"

namespace cbe::net {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::string ErrnoText(const std::string& what, int err);

// A non-blocking, close-on-exec socket. EPERM/EACCES say which capability is missing.
Result<Fd> OpenSocket(int family, int type, int protocol);

Result<bool> AttachFilter(int fd, const std::vector<sock_filter>& program);

// Reads and discards what queued before a filter was attached.
void Drain(int fd);

// The source address the kernel would use towards `peer` (a connected UDP socket; no packet is
// sent).
Result<IpAddress> SourceAddressFor(const IpAddress& peer);

// Binds a TCP socket to the wildcard address on an ephemeral port and keeps it: no connection of
// this host can use that port while the socket lives, and the kernel answers a SYN-ACK sent to it
// with RST.
Result<std::pair<Fd, std::uint16_t>> ReserveTcpPort(int family);

// Waits until one of `fds` is readable or `until` on `clock`'s monotonic time (through
// clock.Poll, so a fake clock neither sleeps nor spins). Returns the readable ones.
std::vector<int> WaitReadable(const std::vector<int>& fds,
                              std::chrono::steady_clock::time_point until, const Clock& clock);

// The gap between two packets at `packets_per_second` (probes.packets_per_second; at least 1/s).
inline std::chrono::nanoseconds PacketInterval(int packets_per_second) {
  return std::chrono::nanoseconds(1'000'000'000LL /
                                  (packets_per_second < 1 ? 1 : packets_per_second));
}

}  // namespace cbe::net
