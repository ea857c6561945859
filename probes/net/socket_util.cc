#include "probes/net/socket_util.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace cbe::net {
namespace {

// Drain discards, so any size does; datagrams longer than this are cut.
constexpr std::size_t kDrainBufferSize = 2048;
// Any port does for a route lookup (connect on UDP sends nothing): discard's.
constexpr std::uint16_t kDiscardPort = 9;

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

std::string ErrnoText(const std::string& what, int err) { return what + ": " + std::strerror(err); }

Result<Fd> OpenSocket(int family, int type, int protocol) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    const int err = errno;
    std::string what = "socket";
    if (type == SOCK_RAW && (err == EPERM || err == EACCES)) {
      what = "raw socket (needs CAP_NET_RAW)";
    }
    return Error{ErrnoText(what, err)};
  }
  return Fd(fd);
}

Result<bool> AttachFilter(int fd, const std::vector<sock_filter>& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
    return Error{ErrnoText("SO_ATTACH_FILTER", errno)};
  }
  return true;
}

void Drain(int fd) {
  std::uint8_t buf[kDrainBufferSize];
  ReceiveDatagrams(fd, buf, std::numeric_limits<std::size_t>::max(),
                   [](Bytes, const sockaddr_storage&) {});
}

Result<bool> SetDontFragment(int fd, bool v6) {
  const int probe = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
  if (::setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
                   &probe, sizeof(probe)) != 0) {
    return Error{ErrnoText(v6 ? "IPV6_MTU_DISCOVER" : "IP_MTU_DISCOVER", errno)};
  }
  return true;
}

Result<bool> SetV6Only(int fd) {
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) {
    return Error{ErrnoText("IPV6_V6ONLY", errno)};
  }
  return true;
}

Result<std::uint16_t> LocalPort(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return Error{ErrnoText("getsockname", errno)};
  }
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  if (bound.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return Error{"getsockname: not an IP socket (family " + std::to_string(bound.ss_family) + ")"};
}

Result<IpAddress> SourceAddressFor(const IpAddress& peer) {
  auto fd = OpenSocket(peer.family(), SOCK_DGRAM, 0);
  if (!fd) {
    return fd.error();
  }
  sockaddr_storage ss{};
  const socklen_t len = peer.ToSockaddr(kDiscardPort, &ss);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error{ErrnoText("route to " + peer.ToString(), errno)};
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    return Error{ErrnoText("getsockname", errno)};
  }
  auto ip = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local));
  if (!ip) {
    return Error{"no source address towards " + peer.ToString()};
  }
  return *ip;
}

Result<std::pair<Fd, std::uint16_t>> ReserveTcpPort(int family) {
  auto fd = OpenSocket(family, SOCK_STREAM, 0);
  if (!fd) {
    return fd.error();
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET6) {
    // IPv6 only: the IPv4 family reserves a port of its own; a dual-stack bind would also take
    // (or collide with) this port number in IPv4.
    if (auto v6only = SetV6Only(fd->get()); !v6only) {
      return v6only.error();
    }
    auto any = IpAddress::FromV6(in6addr_any);
    len = any.ToSockaddr(0, &ss);
  } else {
    in_addr a{};
    a.s_addr = htonl(INADDR_ANY);
    len = IpAddress::FromV4(a).ToSockaddr(0, &ss);
  }
  if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error{ErrnoText("bind", errno)};
  }
  auto port = LocalPort(fd->get());
  if (!port) {
    return port.error();
  }
  return std::pair<Fd, std::uint16_t>(std::move(*fd), *port);
}

std::vector<int> WaitReadable(const std::vector<int>& fds,
                              std::chrono::steady_clock::time_point until, const Clock& clock) {
  std::vector<pollfd> pfds;
  for (int fd : fds) {
    pfds.push_back({fd, POLLIN, 0});
  }
  std::vector<int> ready;
  if (clock.Poll(pfds.data(), pfds.size(), until) > 0) {
    for (const auto& p : pfds) {
      if (p.revents & (POLLIN | POLLERR)) {
        ready.push_back(p.fd);
      }
    }
  }
  return ready;
}

}  // namespace cbe::net
