#pragma once

// Small RAII and helper functions for the probes' sockets.

#include <linux/filter.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/net/address.h"
#include "probes/net/packet.h"

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

// Reads the datagrams queued on non-blocking `fd` (at most `max_datagrams`) into `buffer` and
// calls on_datagram(bytes, sender) for each; stops at the first recvfrom error (EAGAIN: none
// left). Returns how many were read. The one read loop of the raw and ping sockets.
template <typename F>
std::size_t ReceiveDatagrams(int fd, std::span<std::uint8_t> buffer, std::size_t max_datagrams,
                             F on_datagram);
// The probes' bound per socket and wake-up: one pass ends even while a flood arrives.
inline constexpr std::size_t kMaxDatagramsPerWake = 256;

// Reads and discards what queued before a filter was attached.
void Drain(int fd);

// IP(V6)_MTU_DISCOVER = PMTUDISC_PROBE: every packet leaves with don't-fragment set, whatever
// the cached path MTU. An error when the socket refuses (then packets could be fragmented).
Result<bool> SetDontFragment(int fd, bool v6);

// IPV6_V6ONLY: an IPv6 socket that takes no IPv4.
Result<bool> SetV6Only(int fd);

// The local port a socket is bound to (getsockname).
Result<std::uint16_t> LocalPort(int fd);

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

template <typename F>
std::size_t ReceiveDatagrams(int fd, std::span<std::uint8_t> buffer, std::size_t max_datagrams,
                             F on_datagram) {
  std::size_t n = 0;
  while (n < max_datagrams) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const ssize_t len = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
    if (len < 0) {
      break;
    }
    ++n;
    on_datagram(Bytes(buffer.data(), static_cast<std::size_t>(len)), from);
  }
  return n;
}

}  // namespace cbe::net
