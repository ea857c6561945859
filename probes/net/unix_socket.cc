#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exporter/base/clock.h"
#include "probes/net/stream.h"

namespace cbe::net {
namespace {

std::string Errno(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Waits for `events` on `fd` until `deadline`, through the injected clock. Returns an error on
// timeout.
Result<bool> WaitFor(const Clock& clock, int fd, short events, Deadline deadline,
                     std::string_view what) {
  while (true) {
    pollfd pfd{fd, events, 0};
    const int n = clock.Poll(&pfd, 1, deadline);
    if (n > 0) {
      return true;
    }
    if (n == 0) {
      if (clock.Monotonic() >= deadline) {
        return Error{std::string(what) + ": deadline exceeded"};
      }
      continue;  // One poll(2) waits at most a minute.
    }
    if (errno != EINTR) {
      return Error{Errno(what, errno)};
    }
  }
}

class UnixStream final : public Stream {
 public:
  UnixStream(int fd, const Clock* clock) : fd_(fd), clock_(clock) {}
  ~UnixStream() override { ::close(fd_); }
  UnixStream(const UnixStream&) = delete;
  UnixStream& operator=(const UnixStream&) = delete;

  Result<bool> WriteAll(std::string_view data, Deadline deadline) override {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Error{Errno("write", errno)};
      }
      if (auto w = WaitFor(*clock_, fd_, POLLOUT, deadline, "write"); !w) {
        return w.error();
      }
    }
    return true;
  }

  Result<std::size_t> Read(char* buffer, std::size_t size, Deadline deadline) override {
    while (true) {
      const ssize_t n = ::recv(fd_, buffer, size, 0);
      if (n >= 0) {
        return static_cast<std::size_t>(n);
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Error{Errno("read", errno)};
      }
      if (auto w = WaitFor(*clock_, fd_, POLLIN, deadline, "read"); !w) {
        return w.error();
      }
    }
  }

 private:
  int fd_;
  const Clock* clock_;
};

}  // namespace

Result<std::unique_ptr<Stream>> UnixStreamConnector::Connect(const std::string& path,
                                                             Deadline deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Error{"socket path too long (" + std::to_string(path.size()) + " bytes)"};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{Errno("socket", errno)};
  }
  auto stream = std::make_unique<UnixStream>(fd, clock_);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return Error{Errno("connect " + path, errno)};
    }
    if (auto w = WaitFor(*clock_, fd, POLLOUT, deadline, "connect " + path); !w) {
      return w.error();
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      return Error{Errno("connect " + path + ": getsockopt(SO_ERROR)", errno)};
    }
    if (err != 0) {
      return Error{Errno("connect " + path, err)};
    }
  }
  return std::unique_ptr<Stream>(std::move(stream));
}

}  // namespace cbe::net
