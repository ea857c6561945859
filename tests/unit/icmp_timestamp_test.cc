#include "probes/clock/icmp_timestamp.h"

#include <catch2/catch.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/fixtures.h"

namespace cbe::probes {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

std::vector<std::uint8_t> Fixture(const std::string& name) {
  const std::string s = testing::ReadFixture("icmp/" + name);
  return {s.begin(), s.end()};
}

// A type 14 message (no IP header) with the given timestamps, checksummed.
std::vector<std::uint8_t> Reply(std::uint16_t id, std::uint16_t seq, std::uint32_t orig,
                                std::uint32_t rx, std::uint32_t tx) {
  auto p = BuildIcmpTimestampRequest(id, seq, orig);
  p[0] = 14;
  p[2] = p[3] = 0;
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<std::uint8_t>(rx >> (24 - 8 * i));
    p[16 + i] = static_cast<std::uint8_t>(tx >> (24 - 8 * i));
  }
  const std::uint16_t sum = net::InternetChecksum(p);
  p[2] = static_cast<std::uint8_t>(sum >> 8);
  p[3] = static_cast<std::uint8_t>(sum);
  return p;
}

TEST_CASE("icmp timestamp: milliseconds since midnight UTC and their differences", "[unit]") {
  CHECK(MsSinceMidnightUtc(system_clock::time_point(milliseconds(86'401'500))) == 1500.0);
  CHECK(MsSinceMidnightUtc(system_clock::time_point(
            std::chrono::microseconds(1'795'651'200'000'250))) == Approx(0.25));
  CHECK(WrapDayDifferenceMs(100, 86'399'900) == 200);   // Across midnight, forwards.
  CHECK(WrapDayDifferenceMs(86'399'900, 100) == -200);  // And backwards.
  CHECK(WrapDayDifferenceMs(5000, 3000) == 2000);
  CHECK(WrapDayDifferenceMs(43'200'000, 0) == -43'200'000);  // Exactly 12 h: [-12 h, +12 h).
}

TEST_CASE("icmp timestamp: the request", "[unit]") {
  const auto p = BuildIcmpTimestampRequest(0x4342, 7, 30'163'833);
  REQUIRE(p.size() == 20);
  CHECK(p[0] == 13);
  CHECK(p[1] == 0);
  CHECK(net::InternetChecksum(p) == 0);
  CHECK(p[4] == 0x43);
  CHECK(p[5] == 0x42);
  CHECK(p[7] == 7);
  CHECK(p[8] == 0x01);
  CHECK(p[9] == 0xcc);
  CHECK(p[10] == 0x43);
  CHECK(p[11] == 0x79);
  for (std::size_t i = 12; i < 20; ++i) {
    CHECK(p[i] == 0);
  }
}

TEST_CASE("icmp timestamp: Linux's reply over loopback", "[unit]") {
  // Captured by tests/fixtures/icmp/capture.py: Linux stamps receive and transmit alike.
  const auto d = Fixture("linux_timestamp_reply.bin");
  auto r = ParseIcmpTimestampReply(d, true);
  REQUIRE(r.ok());
  CHECK(r->src == net::IpAddress::Parse("127.0.0.1"));
  CHECK(r->id == 0x4342);
  CHECK(r->seq == 7);
  CHECK(r->originate == 30'163'833);
  CHECK(r->receive == r->transmit);
  std::istringstream times(testing::ReadFixture("icmp/linux_timestamp_reply.txt"));
  std::string key;
  double t1 = 0;
  double t4 = 0;
  times >> key >> t1 >> key >> t4;
  auto s = ComputeTimestampOffset(*r, t1, t4);
  REQUIRE(s.ok());
  CHECK(std::abs(s->offset_seconds) < 0.001);  // The same clock, to the millisecond.
  CHECK(s->rtt_seconds == Approx((t4 - t1) / 1000).margin(1e-9));
  // The BPF program passes it for its identifier only.
  CHECK(net::RunBpf(TimestampReplyFilter(0x4342), d) > 0);
  CHECK(net::RunBpf(TimestampReplyFilter(0x4343), d) == 0);
}

TEST_CASE("icmp timestamp: the filter drops other ICMP", "[unit]") {
  auto d = Fixture("linux_timestamp_reply.bin");
  d[20] = 0;  // An echo reply with the same identifier.
  CHECK(net::RunBpf(TimestampReplyFilter(0x4342), d) == 0);
  d[20] = 13;  // Our own request, looped back.
  CHECK(net::RunBpf(TimestampReplyFilter(0x4342), d) == 0);
}

TEST_CASE("icmp timestamp: a peer 1.5 s ahead, across midnight", "[unit]") {
  // T1 = 23:59:59.990 here; the peer, 1500 ms ahead, stamps 00:00:01.490.2 (truncated to 1490).
  const double t1 = 86'399'990.0;
  const double t4 = t1 + 0.4;
  const auto d = Reply(1, 2, static_cast<std::uint32_t>(t1), 1490, 1490);
  auto r = ParseIcmpTimestampReply(d, false);
  REQUIRE(r.ok());
  CHECK_FALSE(r->src.has_value());
  auto s = ComputeTimestampOffset(*r, t1, t4);
  REQUIRE(s.ok());
  CHECK(s->offset_seconds == Approx(1.5).margin(0.0005));
  CHECK(s->rtt_seconds == Approx(0.0004).margin(1e-9));
  // And a peer 1.5 s behind, with midnight between our two timestamps.
  const double u1 = 86'399'999.8;
  const double u4 = 0.3;  // 00:00:00.000.3, 0.5 ms later.
  auto behind = ParseIcmpTimestampReply(Reply(1, 3, 86'399'999, 86'398'500, 86'398'500), false);
  REQUIRE(behind.ok());
  s = ComputeTimestampOffset(*behind, u1, u4);
  REQUIRE(s.ok());
  CHECK(s->offset_seconds == Approx(-1.5).margin(0.0005));
  CHECK(s->rtt_seconds == Approx(0.0005).margin(1e-9));
}

TEST_CASE("icmp timestamp: non-standard and out-of-range timestamps", "[unit]") {
  auto ns = ParseIcmpTimestampReply(Reply(1, 1, 10, 0x80000000u | 1234, 0x80000000u | 1234), false);
  REQUIRE(ns.ok());
  auto s = ComputeTimestampOffset(*ns, 10, 11);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message ==
        "non-standard timestamp (high bit set): the peer's clock is not given in milliseconds "
        "since midnight UTC");
  // A stack that answers in little-endian: 30'163'833 byte-swapped.
  auto swapped = ParseIcmpTimestampReply(Reply(1, 1, 10, 0x7943cc01, 0x7943cc01), false);
  REQUIRE(swapped.ok());
  s = ComputeTimestampOffset(*swapped, 10, 11);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message ==
        "timestamp beyond one day (2034486273 ms): not milliseconds since midnight UTC (wrong "
        "byte order?)");
}

TEST_CASE("icmp timestamp: malformed and truncated replies get a clear error", "[unit]") {
  const auto d = Fixture("linux_timestamp_reply.bin");
  for (std::size_t n = 20; n < 40; ++n) {
    auto r = ParseIcmpTimestampReply(net::Bytes(d.data(), n), true);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "truncated ICMP timestamp reply: " + std::to_string(n - 20) + " bytes of 20");
  }
  for (std::size_t n = 0; n < 20; ++n) {
    auto r = ParseIcmpTimestampReply(net::Bytes(d.data(), n), true);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "not an IPv4 packet");
  }
  auto bad = d;
  bad[39] ^= 1;
  CHECK(ParseIcmpTimestampReply(bad, true).error().message == "bad ICMP checksum");
  bad = d;
  bad[20] = 0;
  CHECK(ParseIcmpTimestampReply(bad, true).error().message ==
        "not an ICMP timestamp reply (type 0)");
  bad = d;
  bad[9] = 6;
  CHECK(ParseIcmpTimestampReply(bad, true).error().message == "not ICMP (protocol 6)");
  bad = d;
  bad[0] = 0x4f;  // IHL 60 bytes, beyond the packet.
  CHECK(ParseIcmpTimestampReply(bad, true).error().message == "bad IPv4 header length");
  std::mt19937 rng(3);
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::uint8_t> junk(rng() % 64);
    for (auto& b : junk) {
      b = static_cast<std::uint8_t>(rng());
    }
    CHECK_NOTHROW(ParseIcmpTimestampReply(junk, i % 2 == 0).ok());
  }
}

TEST_CASE("icmp timestamp: IPv6 peers are not probed", "[unit]") {
  SystemClock clock;
  auto r = RunPeerClockProbe({*net::IpAddress::Parse("fd00::1")}, PeerClockOptions{}, clock);
  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].probed);
  CHECK(r[0].reason == "ICMP timestamps exist only in IPv4");
  CHECK(r[0].sent == 0);
}

}  // namespace
}  // namespace cbe::probes
