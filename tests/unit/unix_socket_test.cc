// The Unix stream connector of the BIRD client, on real sockets and the injected clock: a BIRD
// that never answers ends at the deadline without the test waiting for it.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include "probes/net/stream.h"
#include "tests/unit/fake_poll_clock.h"

namespace cbe::net {
namespace {

using namespace std::chrono_literals;

// A listening Unix socket in a fresh temporary folder, removed with it.
class Listener {
 public:
  Listener() {
    char tmpl[] = "/tmp/cbe-unix-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/bird.ctl";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
  }
  ~Listener() {
    if (peer_ >= 0) {
      ::close(peer_);
    }
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::string& path() const { return path_; }
  // Accepts the connection the connector made (it is queued: no wait).
  int Accept() {
    peer_ = ::accept(fd_, nullptr, nullptr);
    REQUIRE(peer_ >= 0);
    return peer_;
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
  int peer_ = -1;
};

TEST_CASE("unix socket: a peer that never answers ends at the deadline, on the injected clock",
          "[unit]") {
  Listener listener;
  testing::FakePollClock clock(100ms);
  UnixStreamConnector connector(&clock);
  const auto start = clock.Monotonic();
  auto stream = connector.Connect(listener.path(), start + 2s);
  REQUIRE(stream.ok());
  listener.Accept();
  char buffer[16];
  auto read = (*stream)->Read(buffer, sizeof(buffer), clock.Monotonic() + 2s);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message == "read: deadline exceeded");
  CHECK(clock.Monotonic() - start == 2s);  // The fake clock moved; the test did not wait.
  CHECK(clock.polls() == 20);
}

TEST_CASE("unix socket: bytes written and read, EOF when the peer closes", "[unit]") {
  Listener listener;
  testing::FakePollClock clock(100ms);
  UnixStreamConnector connector(&clock);
  auto stream = connector.Connect(listener.path(), clock.Monotonic() + 2s);
  REQUIRE(stream.ok());
  const int peer = listener.Accept();
  REQUIRE((*stream)->WriteAll("show status\n", clock.Monotonic() + 2s).ok());
  char got[32] = {};
  REQUIRE(::read(peer, got, sizeof(got)) == 12);
  CHECK(std::string(got) == "show status\n");
  REQUIRE(::write(peer, "0013 up\n", 8) == 8);
  char buffer[16];
  auto read = (*stream)->Read(buffer, sizeof(buffer), clock.Monotonic() + 2s);
  REQUIRE(read.ok());
  CHECK(std::string(buffer, *read) == "0013 up\n");
  ::shutdown(peer, SHUT_WR);
  read = (*stream)->Read(buffer, sizeof(buffer), clock.Monotonic() + 2s);
  REQUIRE(read.ok());
  CHECK(*read == 0);
}

TEST_CASE("unix socket: connect errors name the path and the reason", "[unit]") {
  testing::FakePollClock clock(100ms);
  UnixStreamConnector connector(&clock);
  auto missing = connector.Connect("/nonexistent/bird.ctl", clock.Monotonic() + 2s);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "connect /nonexistent/bird.ctl: No such file or directory");
  auto too_long = connector.Connect("/" + std::string(200, 'x'), clock.Monotonic() + 2s);
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().message == "socket path too long (201 bytes)");
}

}  // namespace
}  // namespace cbe::net
