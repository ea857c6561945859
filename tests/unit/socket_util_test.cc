#include "probes/net/socket_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/mtu_probe.h"
#include "probes/net/echo_socket.h"
#include "tests/unit/fake_poll_clock.h"

namespace cbe::net {
namespace {

using std::chrono::milliseconds;

// A pipe: an fd that is not a socket, so every socket option fails as it would on a kernel that
// refuses it.
struct Pipe {
  Pipe() { REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST_CASE("socket options that fail are reported, not swallowed", "[unit]") {
  Pipe p;
  const auto df4 = SetDontFragment(p.fds[0], false);
  REQUIRE_FALSE(df4.ok());
  CHECK(df4.error().message == "IP_MTU_DISCOVER: Socket operation on non-socket");
  const auto df6 = SetDontFragment(p.fds[0], true);
  REQUIRE_FALSE(df6.ok());
  CHECK(df6.error().message == "IPV6_MTU_DISCOVER: Socket operation on non-socket");
  const auto v6only = SetV6Only(p.fds[0]);
  REQUIRE_FALSE(v6only.ok());
  CHECK(v6only.error().message == "IPV6_V6ONLY: Socket operation on non-socket");
  const auto port = LocalPort(p.fds[0]);
  REQUIRE_FALSE(port.ok());
  CHECK(port.error().message == "getsockname: Socket operation on non-socket");
}

TEST_CASE("socket options on real sockets", "[unit]") {
  auto udp = OpenSocket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(udp.ok());
  CHECK(SetDontFragment(udp->get(), false).ok());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(udp->get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(::getsockname(udp->get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const auto port = LocalPort(udp->get());
  REQUIRE(port.ok());
  CHECK(*port == ntohs(a.sin_port));
  // A unix socket has no port.
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) == 0);
  Fd left(pair[0]);
  Fd right(pair[1]);
  const auto none = LocalPort(left.get());
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "getsockname: not an IP socket (family 1)");
}

TEST_CASE("ReserveTcpPort: a port per family", "[unit]") {
  const auto v4 = ReserveTcpPort(AF_INET);
  REQUIRE(v4.ok());
  CHECK(v4->second != 0);
  const auto v6 = ReserveTcpPort(AF_INET6);
  if (v6.ok()) {  // A kernel without IPv6 fails to open the socket, which is reported.
    CHECK(v6->second != 0);
    int on = 0;
    socklen_t len = sizeof(on);
    REQUIRE(::getsockopt(v6->first.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, &len) == 0);
    CHECK(on == 1);
  }
}

TEST_CASE("ReceiveDatagrams reads what queued, up to its bound", "[unit]") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  Fd writer(pair[0]);
  Fd reader(pair[1]);
  for (const char* d : {"one", "two", "three"}) {
    REQUIRE(::send(writer.get(), d, std::strlen(d), 0) > 0);
  }
  std::uint8_t buf[16];
  std::vector<std::string> got;
  const auto each = [&](Bytes data, const sockaddr_storage&) {
    got.emplace_back(data.begin(), data.end());
  };
  CHECK(ReceiveDatagrams(reader.get(), buf, 2, each) == 2);
  CHECK(got == std::vector<std::string>{"one", "two"});
  CHECK(ReceiveDatagrams(reader.get(), buf, kMaxDatagramsPerWake, each) == 1);
  CHECK(ReceiveDatagrams(reader.get(), buf, kMaxDatagramsPerWake, each) == 0);  // EAGAIN.
  CHECK(got == std::vector<std::string>{"one", "two", "three"});
  REQUIRE(::send(writer.get(), "x", 1, 0) == 1);
  Drain(reader.get());
  CHECK(ReceiveDatagrams(reader.get(), buf, kMaxDatagramsPerWake, each) == 0);
}

TEST_CASE("WaitReadable waits on the injected clock", "[unit]") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  Fd writer(pair[0]);
  Fd reader(pair[1]);
  testing::FakePollClock clock(milliseconds(250));
  const auto start = clock.Monotonic();
  const auto real_start = std::chrono::steady_clock::now();
  // Nothing to read: the fake time moves to the deadline, real time does not wait for it.
  CHECK(WaitReadable({reader.get()}, start + std::chrono::hours(1), clock).empty());
  CHECK(clock.Monotonic() - start == milliseconds(250));
  CHECK(std::chrono::steady_clock::now() - real_start < std::chrono::seconds(1));
  REQUIRE(::send(writer.get(), "x", 1, 0) == 1);
  CHECK(WaitReadable({reader.get()}, start + std::chrono::hours(1), clock) ==
        std::vector<int>{reader.get()});
  CHECK(clock.polls() == 2);
}

// The path MTU search on a socket that refuses don't-fragment: without it the kernel would
// fragment the large echoes and the search would report a wrong size as good.
TEST_CASE("path MTU search: a socket that refuses don't-fragment gives an error, no number",
          "[unit]") {
  int opened = 0;
  const auto open_pipe = [&](int) {
    ++opened;
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    ::close(fds[1]);
    EchoSocket s;
    s.fd = Fd(fds[0]);
    return s;
  };
  testing::FakePollClock clock(milliseconds(100));
  const auto v4 = IpAddress::Parse("192.0.2.1");
  const auto v6 = IpAddress::Parse("2001:db8::1");
  REQUIRE(v4);
  REQUIRE(v6);
  const auto found =
      probes::SearchPathMtu({*v4, *v6}, {1500, 1500}, probes::PathMtuOptions{}, clock, open_pipe);
  CHECK(opened == 2);  // One socket per family.
  REQUIRE(found.size() == 2);
  CHECK_FALSE(found[0].path_mtu.has_value());
  CHECK_FALSE(found[1].path_mtu.has_value());
  CHECK(found[0].reason ==
        "cannot set don't-fragment: IP_MTU_DISCOVER: Socket operation on non-socket");
  CHECK(found[1].reason ==
        "cannot set don't-fragment: IPV6_MTU_DISCOVER: Socket operation on non-socket");
  // The probe could not measure: a failed probe run, not a fact of the path.
  CHECK(found[0].failed);
  CHECK(found[1].failed);
}

// Echoes over loopback (the only network a unit test may use): an answered echo is forgotten
// at once, a late or second reply matches nothing, and Forget drops the echoes a sender gave up
// on; a path MTU search of thousands of echoes kept every one of them (1.4 MB at 1000 peers).
TEST_CASE("EchoLoop keeps only the echoes still awaited", "[unit]") {
  SystemClock clock;
  EchoLoop loop(clock, /*dont_fragment=*/false);
  const auto lo = IpAddress::Parse("127.0.0.1");
  REQUIRE(lo);
  if (!loop.Socket(AF_INET).error.empty() && ::geteuid() != 0) {
    WARN("not root and no ICMP socket (" << loop.Socket(AF_INET).error << "): CI runs this");
    return;
  }
  REQUIRE(loop.Socket(AF_INET).error.empty());
  std::vector<std::uint16_t> seqs;
  for (std::size_t i = 0; i < 3; ++i) {
    auto seq = loop.Send(*lo, i, 64);
    REQUIRE(seq);
    seqs.push_back(*seq);
  }
  CHECK(loop.Outstanding() == 3);
  loop.Forget(seqs[2]);  // its sender gave up: its reply must not count
  CHECK(loop.Outstanding() == 2);
  std::vector<std::size_t> answered;
  const auto deadline = clock.Monotonic() + std::chrono::seconds(5);
  while (answered.size() < 2 && clock.Monotonic() < deadline) {
    loop.Receive(std::min(deadline, clock.Monotonic() + milliseconds(100)),
                 [&](std::size_t peer, std::uint16_t, double rtt, const auto& from) {
                   CHECK(rtt >= 0);
                   CHECK(from == lo);
                   answered.push_back(peer);
                 });
  }
  std::sort(answered.begin(), answered.end());
  CHECK(answered == std::vector<std::size_t>{0, 1});
  CHECK(loop.Outstanding() == 0);
  // The forgotten echo's reply has arrived too (loopback answers at once): it matches nothing.
  loop.Receive(clock.Monotonic() + milliseconds(50),
               [&](std::size_t peer, std::uint16_t, double, const auto&) {
                 FAIL("a reply matched forgotten or answered echo of peer " << peer);
               });
}

// An echo reply counts for the peer it was sent to only: a stray or spoofed reply with our
// identifier and sequence number from another address answers nothing, and the echo stays
// awaited for its peer's own reply (it used to be consumed, the real reply then matched nothing
// and the peer showed a loss it did not have).
TEST_CASE("An echo reply answers the echo sent to its sender only", "[unit]") {
  const auto a = *IpAddress::Parse("10.0.0.1");
  const auto b = *IpAddress::Parse("10.0.0.2");
  const auto stranger = *IpAddress::Parse("10.0.0.9");
  const std::map<std::uint16_t, AwaitedEcho> awaited = {{100, {a, 0, {}}}, {101, {b, 1, {}}}};
  const auto reply = [](bool v6, std::uint16_t id, std::uint16_t seq) {
    auto pkt = BuildIcmpEcho(v6, id, seq, 16);
    pkt[0] = v6 ? 129 : 0;  // echo reply
    return pkt;
  };
  EchoSocket ping;  // A ping socket: the kernel hands it our identifier's replies only.
  ping.id = 7;
  CHECK(MatchEchoReply(reply(false, 7, 100), a, ping, false, awaited) == std::uint16_t{100});
  CHECK(MatchEchoReply(reply(false, 7, 101), b, ping, false, awaited) == std::uint16_t{101});
  CHECK_FALSE(MatchEchoReply(reply(false, 7, 100), stranger, ping, false, awaited));
  CHECK_FALSE(MatchEchoReply(reply(false, 7, 100), b, ping, false, awaited));
  CHECK_FALSE(MatchEchoReply(reply(false, 7, 100), std::nullopt, ping, false, awaited));
  CHECK_FALSE(MatchEchoReply(reply(false, 7, 555), a, ping, false, awaited));
  auto request = reply(false, 7, 100);
  request[0] = 8;  // our own echo request, looped back
  CHECK_FALSE(MatchEchoReply(request, a, ping, false, awaited));

  const auto v6 = *IpAddress::Parse("fd00::1");
  const std::map<std::uint16_t, AwaitedEcho> awaited6 = {{5, {v6, 0, {}}}};
  EchoSocket raw;  // A raw socket reads every echo reply: the identifier must be ours.
  raw.raw = true;
  raw.id = 42;
  CHECK(MatchEchoReply(reply(true, 42, 5), v6, raw, true, awaited6) == std::uint16_t{5});
  CHECK_FALSE(MatchEchoReply(reply(true, 43, 5), v6, raw, true, awaited6));
  CHECK_FALSE(MatchEchoReply(reply(true, 42, 5), a, raw, true, awaited6));
}

}  // namespace
}  // namespace cbe::net
