#include "probes/clock/chrony.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/fixtures.h"

namespace cbe::probes {
namespace {

std::vector<std::uint8_t> Bytes(const std::string& name) {
  const std::string s = testing::ReadFixture("chrony/" + name);
  return {s.begin(), s.end()};
}

std::uint32_t SequenceOf(const std::vector<std::uint8_t>& reply) {
  return static_cast<std::uint32_t>(reply[16]) << 24 | reply[17] << 16 | reply[18] << 8 | reply[19];
}

// `chronyc tracking` output as "Field" -> "value text".
std::map<std::string, std::string> ChronycFields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t colon = line.find(" : ");
    if (colon == std::string::npos) {
      continue;
    }
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(' ') + 1);
    fields[key] = line.substr(colon + 3);
  }
  return fields;
}

double Number(const std::string& text) { return std::stod(text); }

// What chronyc prints as "System time: X seconds slow|fast of NTP time", in our sign.
double SystemTimeOffset(const std::string& text) {
  const double v = Number(text);
  return text.find("slow") != std::string::npos ? v : -v;
}

std::string Asctime(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a %b %d %H:%M:%S %Y", &tm);
  return buf;
}

// Our decoding of tracking_reply_<name>.bin against what chronyc printed for the same bytes.
void CheckAgainstChronyc(const std::string& name) {
  const auto reply = Bytes("tracking_reply_" + name + ".bin");
  auto fields = ChronycFields(testing::ReadFixture("chrony/tracking_reply_" + name + ".txt"));
  auto t = DecodeChronyTrackingReply(reply, SequenceOf(reply));
  INFO(name);
  REQUIRE(t.ok());
  CHECK(fields["Reference ID"].substr(0, 8) == t->reference_id_hex);
  CHECK(Number(fields["Stratum"]) == t->stratum);
  CHECK(fields["Ref time (UTC)"] == Asctime(t->reference_time));
  // chronyc rounds to the digits it prints.
  CHECK(SystemTimeOffset(fields["System time"]) == Approx(t->offset_seconds).margin(1e-9));
  CHECK(-Number(fields["Last offset"]) == Approx(t->last_offset_seconds).margin(1e-9));
  CHECK(Number(fields["RMS offset"]) == Approx(t->rms_offset_seconds).margin(1e-9));
  const double freq = Number(fields["Frequency"]);
  CHECK((fields["Frequency"].find("fast") != std::string::npos ? freq : -freq) ==
        Approx(t->frequency_ppm).margin(0.0005));
  CHECK(Number(fields["Residual freq"]) == Approx(t->residual_frequency_ppm).margin(0.0005));
  CHECK(Number(fields["Skew"]) == Approx(t->skew_ppm).margin(0.0005));
  CHECK(Number(fields["Root delay"]) == Approx(t->root_delay_seconds).margin(1e-9));
  CHECK(Number(fields["Root dispersion"]) == Approx(t->root_dispersion_seconds).margin(1e-9));
  CHECK(Number(fields["Update interval"]) == Approx(t->update_interval_seconds).margin(0.05));
  const std::map<std::string, int> leaps = {
      {"Normal", 0}, {"Insert second", 1}, {"Delete second", 2}, {"Not synchronised", 3}};
  CHECK(leaps.at(fields["Leap status"]) == t->leap_status);
}

TEST_CASE("chrony: the tracking request is byte for byte what chronyc sends", "[unit]") {
  const auto chronyc = Bytes("tracking_request_chronyc.bin");
  REQUIRE(chronyc.size() == kChronyTrackingRequestSize);
  const std::uint32_t sequence = static_cast<std::uint32_t>(chronyc[8]) << 24 | chronyc[9] << 16 |
                                 chronyc[10] << 8 | chronyc[11];
  CHECK(EncodeChronyTrackingRequest(sequence, 0) == chronyc);
  const auto resend = EncodeChronyTrackingRequest(sequence, 1);
  CHECK(resend[6] == 0);
  CHECK(resend[7] == 1);
}

TEST_CASE("chrony: the 32-bit float format", "[unit]") {
  CHECK(DecodeChronyFloat(0) == 0);
  CHECK(DecodeChronyFloat(0x06a00041) == Approx(2.500015497).margin(1e-9));
  CHECK(DecodeChronyFloat(0x04800000) == 1.0);   // exp 2, coef 2^23: 2^23 * 2^(2-25).
  CHECK(DecodeChronyFloat(0x05000000) == -2.0);  // exp 2, coef -2^24.
  CHECK(DecodeChronyFloat(0xe2f56e2e) == Approx(0.000014629).margin(5e-10));  // chronyc rounds.
  CHECK(DecodeChronyFloat(0x7e000001) == std::ldexp(1.0, 63 - 25));           // Largest exponent.
  CHECK(DecodeChronyFloat(0x81000000) == std::ldexp(-16777216.0, -64 - 25));  // Smallest.
}

TEST_CASE("chrony: tracking of a local-mode chronyd, as chronyc printed it", "[unit]") {
  CheckAgainstChronyc("local");
  const auto reply = Bytes("tracking_reply_local.bin");
  auto t = DecodeChronyTrackingReply(reply, SequenceOf(reply));
  REQUIRE(t.ok());
  CHECK(t->reference_id == 0x7f7f0101);
  CHECK(t->reference_address.empty());
  CHECK(t->stratum == 8);
  CHECK(t->offset_seconds == 0);
}

TEST_CASE("chrony: tracking of a chronyd that follows a server 2.5 s ahead", "[unit]") {
  CheckAgainstChronyc("client_skewed");
  const auto reply = Bytes("tracking_reply_client_skewed.bin");
  auto t = DecodeChronyTrackingReply(reply, SequenceOf(reply));
  REQUIRE(t.ok());
  CHECK(t->reference_id_hex == "7F000001");
  CHECK(t->reference_address == "127.0.0.1");
  CHECK(t->stratum == 9);
  CHECK(ChronyLeapName(t->leap_status) == "normal");
  // "System time: 2.500015497 seconds slow of NTP time": the reference is ahead.
  CHECK(t->offset_seconds == Approx(2.5).margin(0.001));
  CHECK(t->offset_seconds > 0);
  // "Last offset: +0.000014629 seconds": this node was ahead, so the reference was behind.
  CHECK(t->last_offset_seconds == Approx(-0.000014629).margin(1e-9));
}

TEST_CASE("chrony: tracking of an unsynchronised chronyd", "[unit]") {
  CheckAgainstChronyc("unsynced");
  const auto reply = Bytes("tracking_reply_unsynced.bin");
  auto t = DecodeChronyTrackingReply(reply, SequenceOf(reply));
  REQUIRE(t.ok());
  CHECK(t->leap_status == 3);
  CHECK(ChronyLeapName(t->leap_status) == "unsynchronised");
  CHECK(t->stratum == 0);
  CHECK(t->reference_time == 0);
  CHECK(t->root_delay_seconds == 1.0);
}

TEST_CASE("chrony: chronyd's refusals", "[unit]") {
  auto bad_version = DecodeChronyTrackingReply(Bytes("reply_bad_version.bin"), 0x12345678);
  REQUIRE_FALSE(bad_version.ok());
  CHECK(bad_version.error().message ==
        "chronyd refused the tracking request: bad packet version (status 18)");
  auto makestep = DecodeChronyTrackingReply(Bytes("reply_makestep_udp.bin"), 0x12345678);
  REQUIRE_FALSE(makestep.ok());
  CHECK(makestep.error().message == "chrony reply to command 43, not tracking (33)");
}

TEST_CASE("chrony: malformed and truncated replies get a clear error", "[unit]") {
  const auto good = Bytes("tracking_reply_client_skewed.bin");
  const std::uint32_t seq = SequenceOf(good);
  for (std::size_t n = 0; n < 28; ++n) {
    auto r = DecodeChronyTrackingReply(net::Bytes(good.data(), n), seq);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "truncated chrony reply: " + std::to_string(n) + " bytes, the header needs 28");
  }
  for (std::size_t n = 28; n < 104; ++n) {
    auto r = DecodeChronyTrackingReply(net::Bytes(good.data(), n), seq);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "truncated chrony tracking report: " + std::to_string(n) + " bytes of 104");
  }
  const auto with = [&](std::size_t at, std::uint8_t value) {
    auto d = good;
    d[at] = value;
    auto r = DecodeChronyTrackingReply(d, seq);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  CHECK(with(0, 5) == "chronyd speaks command protocol version 5, not 6");
  CHECK(with(1, 1) == "not a chrony reply (packet type 1)");
  CHECK(with(5, 14) == "chrony reply to command 14, not tracking (33)");
  CHECK(with(7, 2) == "chrony reply of type 2, not a tracking report (5)");
  CHECK(with(9, 2) ==
        "chronyd refused the tracking request: not authorised (the command is allowed only on "
        "chronyd's Unix socket) (status 2)");
  CHECK(with(49, 7) == "chrony tracking report with unknown address family 7");
  CHECK(with(55, 4) == "chrony tracking report with invalid leap status 4");
  auto other = DecodeChronyTrackingReply(good, seq + 1);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message == "chrony reply to another request (sequence " +
                                     std::to_string(seq) + ", sent " + std::to_string(seq + 1) +
                                     ")");
  auto longer = good;
  longer.resize(200, 0);
  CHECK(DecodeChronyTrackingReply(longer, seq).ok());
}

TEST_CASE("chrony: IPv6 and unresolved reference addresses", "[unit]") {
  // The captured reply with its address rewritten: IPADDR_INET6 fd00::123, then IPADDR_ID 7.
  auto d = Bytes("tracking_reply_client_skewed.bin");
  const std::uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23};
  std::copy(std::begin(v6), std::end(v6), d.begin() + 32);
  d[48] = 0;
  d[49] = 2;
  auto t = DecodeChronyTrackingReply(d, SequenceOf(d));
  REQUIRE(t.ok());
  CHECK(t->reference_address == "fd00::123");
  std::fill(d.begin() + 32, d.begin() + 48, 0);
  d[35] = 7;
  d[49] = 3;
  t = DecodeChronyTrackingReply(d, SequenceOf(d));
  REQUIRE(t.ok());
  CHECK(t->reference_address == "ID#7");
}

TEST_CASE("chrony: random bytes never crash the decoder", "[unit]") {
  const auto good = Bytes("tracking_reply_client_skewed.bin");
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    auto d = good;
    d.resize(rng() % 120);
    for (int k = 0; k < 4; ++k) {
      if (!d.empty()) {
        d[rng() % d.size()] = static_cast<std::uint8_t>(rng());
      }
    }
    CHECK_NOTHROW(DecodeChronyTrackingReply(d, SequenceOf(good)).ok());
  }
}

}  // namespace
}  // namespace cbe::probes
