#include "probes/net/socket_util.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cbe::net {

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
  char buf[2048];
  while (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
  }
}

Result<IpAddress> SourceAddressFor(const IpAddress& peer) {
  auto fd = OpenSocket(peer.family(), SOCK_DGRAM, 0);
  if (!fd) {
    return fd.error();
  }
  sockaddr_storage ss{};
  const socklen_t len = peer.ToSockaddr(9, &ss);
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
    const int on = 1;
    ::setsockopt(fd->get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
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
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  ::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const std::uint16_t port =
      ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::pair<Fd, std::uint16_t>(std::move(*fd), port);
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
