#include "probes/clock/ntp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/fake_poll_clock.h"
#include "tests/unit/fixtures.h"

namespace cbe::probes {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// A fixture's bytes (tests/fixtures/chrony/, see capture.py there).
std::vector<std::uint8_t> Bytes(const std::string& name) {
  const std::string s = testing::ReadFixture("chrony/" + name);
  return {s.begin(), s.end()};
}

NtpTimestamp Get64(const std::vector<std::uint8_t>& d, std::size_t off) {
  NtpTimestamp v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = v << 8 | d[off + i];
  }
  return v;
}

// T4 as capture.py recorded it, next to the reply.
NtpTimestamp T4(const std::string& name) {
  return std::stoull(testing::ReadFixture("chrony/" + name + ".t4"), nullptr, 16);
}

// What the capture's client sent as T1 is the reply's origin timestamp (bytes 24..31).
NtpServerResult Evaluate(const std::string& name) {
  const auto d = Bytes("ntp_reply_" + name + ".bin");
  return EvaluateNtpReply(d, Get64(d, 24), T4("ntp_reply_" + name));
}

TEST_CASE("ntp: timestamps and their differences", "[unit]") {
  CHECK(ToNtpTimestamp(system_clock::time_point()) == 2208988800ULL << 32);
  CHECK(ToNtpTimestamp(system_clock::time_point(std::chrono::milliseconds(1500))) ==
        ((2208988801ULL << 32) | 0x80000000ULL));
  // 2036-02-07 06:28:16 UTC: era 1 begins, the seconds field wraps to 0.
  const auto era1 = system_clock::time_point(seconds(2085978496));
  CHECK(ToNtpTimestamp(era1) == 0);
  CHECK(NtpDifferenceSeconds(ToNtpTimestamp(era1 + seconds(1)),
                             ToNtpTimestamp(era1 - seconds(2))) == Approx(3.0));
  CHECK(NtpDifferenceSeconds(ToNtpTimestamp(era1 - seconds(2)),
                             ToNtpTimestamp(era1 + seconds(1))) == Approx(-3.0));
}

TEST_CASE("ntp: the request is a version 4 client packet carrying T1", "[unit]") {
  const auto p = EncodeNtpRequest(0x0123456789abcdefULL);
  REQUIRE(p.size() == 48);
  CHECK(p[0] == 0x23);  // LI 0, VN 4, mode 3.
  for (std::size_t i = 1; i < 40; ++i) {
    CHECK(p[i] == 0);
  }
  CHECK(Get64({p.begin(), p.end()}, 40) == 0x0123456789abcdefULL);
  auto decoded = DecodeNtpPacket(p);
  REQUIRE(decoded.ok());
  CHECK(decoded->mode == 3);
  CHECK(decoded->version == 4);
  CHECK(decoded->transmit == 0x0123456789abcdefULL);
}

TEST_CASE("ntp: chronyd in local mode, stratum 8, same clock", "[unit]") {
  const auto d = Bytes("ntp_reply_local.bin");
  auto p = DecodeNtpPacket(d);
  REQUIRE(p.ok());
  CHECK(p->leap == 0);
  CHECK(p->version == 4);
  CHECK(p->mode == 4);
  CHECK(p->stratum == 8);
  CHECK(p->reference_id == 0x7f7f0101);
  CHECK(p->root_delay_seconds == 0);
  CHECK(p->precision < 0);

  const NtpServerResult r = Evaluate("local");
  INFO(r.reason);
  REQUIRE(r.up);
  CHECK(r.reason.empty());
  CHECK(r.stratum == 8);
  CHECK(r.leap == 0);
  CHECK(r.reference_id == "127.127.1.1");
  CHECK(std::abs(*r.offset_seconds) < 0.001);
  CHECK(*r.rtt_seconds >= 0);
  CHECK(*r.rtt_seconds < 0.005);
}

TEST_CASE("ntp: chronyd under faketime +2.5s is 2.5 s ahead", "[unit]") {
  const NtpServerResult r = Evaluate("skewed");
  INFO(r.reason);
  REQUIRE(r.up);
  CHECK(*r.offset_seconds == Approx(2.5).margin(0.01));
  CHECK(*r.rtt_seconds < 0.005);
}

TEST_CASE("ntp: an unsynchronised chronyd answers leap 3, stratum 0, no kiss code", "[unit]") {
  const NtpServerResult r = Evaluate("unsynced");
  CHECK_FALSE(r.up);
  CHECK(r.reason == "server unsynchronised (leap indicator 3, stratum 0)");
  CHECK(r.stratum == 0);
  CHECK(r.leap == 3);
  CHECK(r.kiss_code.empty());
  CHECK(r.root_delay_seconds == 1.0);
  CHECK(r.root_dispersion_seconds == 1.0);
  CHECK_FALSE(r.offset_seconds.has_value());
}

TEST_CASE("ntp: kiss-o'-death RATE", "[unit]") {
  // Derived from ntp_reply_local.bin (capture.py): leap 3, stratum 0, reference ID "RATE".
  const NtpServerResult r = Evaluate("kod_rate");
  CHECK_FALSE(r.up);
  CHECK(r.kiss_code == "RATE");
  CHECK(r.reference_id == "RATE");
  CHECK(r.reason == "kiss-o'-death RATE (rate exceeded: the server asks to poll less often)");
  CHECK_FALSE(r.offset_seconds.has_value());
}

TEST_CASE("ntp: a reply that does not echo our transmit timestamp", "[unit]") {
  const auto d = Bytes("ntp_reply_local.bin");
  const NtpServerResult r = EvaluateNtpReply(d, Get64(d, 24) + 1, T4("ntp_reply_local"));
  CHECK_FALSE(r.up);
  CHECK(r.reason == "origin timestamp does not echo our request (a stale or forged reply)");
  CHECK_FALSE(r.stratum.has_value());  // Nothing of a forged reply is reported.
}

TEST_CASE("ntp: malformed and truncated replies get a clear error", "[unit]") {
  const auto good = Bytes("ntp_reply_local.bin");
  const NtpTimestamp t1 = Get64(good, 24);
  const NtpTimestamp t4 = T4("ntp_reply_local");
  for (std::size_t n = 0; n < 48; ++n) {
    const NtpServerResult r = EvaluateNtpReply(net::Bytes(good.data(), n), t1, t4);
    CHECK_FALSE(r.up);
    CHECK(r.reason == "truncated NTP packet: " + std::to_string(n) + " bytes, the header needs 48");
  }
  auto with = [&](std::size_t at, std::uint8_t value) {
    auto d = good;
    d[at] = value;
    return EvaluateNtpReply(d, t1, t4);
  };
  CHECK(with(0, 0x23).reason == "not a server reply (mode 3)");
  CHECK(with(0, 0x25).reason == "not a server reply (mode 5)");
  CHECK(with(0, 0x04).reason == "unsupported NTP version 0");
  CHECK(with(0, 0x2c).reason == "unsupported NTP version 5");
  CHECK(with(0, 0xe4).reason == "server unsynchronised (leap indicator 3)");
  CHECK(with(1, 16).reason == "server unsynchronised (stratum 16)");
  auto zero_tx = good;
  std::fill(zero_tx.begin() + 40, zero_tx.end(), 0);
  CHECK(EvaluateNtpReply(zero_tx, t1, t4).reason == "zero receive or transmit timestamp");
  auto stratum0 = good;
  stratum0[1] = 0;  // Stratum 0 with the reference ID 7F7F0101: not a kiss code.
  CHECK(EvaluateNtpReply(stratum0, t1, t4).reason == "stratum 0 (unspecified) without a kiss code");
  // An NTPv3 server and a longer packet (extension fields, MAC) are fine.
  CHECK(with(0, 0x1c).up);
  auto longer = good;
  longer.resize(68, 0xaa);
  CHECK(EvaluateNtpReply(longer, t1, t4).up);
}

TEST_CASE("ntp: random bytes never crash the decoder", "[unit]") {
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::uint8_t> d(rng() % 80);
    for (auto& b : d) {
      b = static_cast<std::uint8_t>(rng());
    }
    if (d.size() >= 32 && i % 2 == 0) {
      d[0] = static_cast<std::uint8_t>((d[0] & 0xc0) | 0x24);  // Often a server reply.
    }
    NtpServerResult r;
    CHECK_NOTHROW(r = EvaluateNtpReply(d, 0, 0));
    CHECK((r.up || !r.reason.empty()));
  }
}

TEST_CASE("ntp: offset sign and the era boundary", "[unit]") {
  // Server 0.25 s ahead, 10 ms each way, 1 ms in the server, T1 just before era 1 begins.
  const auto t1 = system_clock::time_point(seconds(2085978496)) - std::chrono::milliseconds(5);
  const auto ts = [](system_clock::time_point t) { return ToNtpTimestamp(t); };
  const auto t2 = t1 + std::chrono::milliseconds(10 + 250);
  const auto t3 = t2 + std::chrono::milliseconds(1);
  const auto t4 = t1 + std::chrono::milliseconds(21);
  auto reply = EncodeNtpRequest(0);
  std::vector<std::uint8_t> d(reply.begin(), reply.end());
  d[0] = 0x24;
  d[1] = 2;
  const auto put = [&](std::size_t off, NtpTimestamp v) {
    for (std::size_t i = 0; i < 8; ++i) {
      d[off + i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
    }
  };
  put(24, ts(t1));
  put(32, ts(t2));
  put(40, ts(t3));
  const NtpServerResult r = EvaluateNtpReply(d, ts(t1), ts(t4));
  REQUIRE(r.up);
  CHECK(*r.offset_seconds == Approx(0.25).margin(1e-6));
  CHECK(*r.rtt_seconds == Approx(0.020).margin(1e-6));
}

TEST_CASE("ntp: reference IDs as people read them", "[unit]") {
  CHECK(ReferenceIdText(0x47505300, 1) == "GPS");
  CHECK(ReferenceIdText(0x0a000035, 2) == "10.0.0.53");
  CHECK(ReferenceIdText(0x52415445, 0) == "RATE");
  CHECK(ReferenceIdText(0x52415445, 3) == "82.65.84.69");
  CHECK(ReferenceIdText(0, 0) == "0.0.0.0");
}

TEST_CASE("ntp: servers that are neither addresses nor names", "[unit]") {
  SystemClock clock;
  const auto r = QueryNtpServers({"[fd00::1", "ntp.internal:0", "a b", "ntp:123456"},
                                 NtpQueryOptions{std::chrono::milliseconds(50)}, clock);
  REQUIRE(r.size() == 4);
  for (const auto& s : r) {
    CHECK_FALSE(s.up);
    CHECK(s.reason == "not an address or host name: \"" + s.server + "\"");
    CHECK(s.address.empty());
  }
}

// The poll loop takes its deadline and its waits from the injected clock: under a fake clock a
// server that never answers ends the query with a timeout after a bounded number of polls,
// without sleeping (real time barely moves) and without spinning.
TEST_CASE("ntp: a silent server times out on the injected clock", "[unit]") {
  // A UDP port on loopback that never answers (ours, bound and never read).
  const int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(silent >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  testing::FakePollClock clock(std::chrono::milliseconds(100));
  const auto start = clock.Monotonic();
  const auto real_start = std::chrono::steady_clock::now();
  NtpQueryOptions options;
  options.timeout = std::chrono::seconds(5);
  const auto r = QueryNtpServers({server}, options, clock);
  const auto real_elapsed = std::chrono::steady_clock::now() - real_start;
  ::close(silent);

  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].up);
  CHECK(r[0].address == server);
  CHECK(r[0].reason == "no reply within 5s");
  CHECK(clock.Monotonic() - start == std::chrono::seconds(5));
  CHECK(clock.polls() == 50);                     // 5 s in steps of 100 ms: no spinning.
  CHECK(real_elapsed < std::chrono::seconds(2));  // No sleeping: 5 s of fake time.
}

}  // namespace
}  // namespace cbe::probes
