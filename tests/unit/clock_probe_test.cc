#include "probes/clock/clock_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace cbe::probes {
namespace {

using std::chrono::milliseconds;

TEST_CASE("clock: an undisciplined kernel clock, as on this VM", "[unit]") {
  // What adjtimex reports where no NTP daemon ever set the kernel clock.
  timex tx{};
  tx.status = STA_UNSYNC;
  tx.maxerror = 16'000'000;
  tx.esterror = 16'000'000;
  const KernelClock k = KernelClockFromTimex(tx, TIME_ERROR);
  CHECK_FALSE(k.synchronized);
  CHECK(k.max_error_seconds == 16.0);
  CHECK(k.estimated_error_seconds == 16.0);
  CHECK(k.offset_seconds == 0);
  CHECK(k.status_flags == std::vector<std::string>{"UNSYNC"});
  CHECK(k.state == TIME_ERROR);
  CHECK(k.state_name == "error");
}

TEST_CASE("clock: a kernel clock disciplined by an NTP daemon", "[unit]") {
  // As chronyd with rtcsync or ntpd leaves it: PLL on, nanosecond resolution.
  timex tx{};
  tx.status = STA_PLL | STA_NANO;
  tx.maxerror = 8'000;  // microseconds
  tx.esterror = 500;
  tx.offset = -12'345;  // nanoseconds with STA_NANO
  tx.freq = -3 * 65536 - 32768;
  const KernelClock k = KernelClockFromTimex(tx, TIME_OK);
  CHECK(k.synchronized);
  CHECK(k.max_error_seconds == Approx(0.008));
  CHECK(k.estimated_error_seconds == Approx(0.0005));
  CHECK(k.offset_seconds == Approx(-12.345e-6));
  CHECK(k.frequency_ppm == -3.5);
  CHECK(k.status_flags == std::vector<std::string>{"PLL", "NANO"});
  CHECK(k.state_name == "ok");
}

TEST_CASE("clock: synchronised as ntpstat decides it", "[unit]") {
  timex tx{};
  tx.maxerror = 15'999'999;
  CHECK(KernelClockFromTimex(tx, TIME_OK).synchronized);
  tx.maxerror = 16'000'000;  // STA_UNSYNC clear, but the error bound has run out.
  CHECK_FALSE(KernelClockFromTimex(tx, TIME_OK).synchronized);
  tx.maxerror = 1'000;
  tx.status = STA_UNSYNC | STA_PLL;
  CHECK_FALSE(KernelClockFromTimex(tx, TIME_ERROR).synchronized);
  // Without STA_NANO the offset is in microseconds.
  tx.status = STA_PLL;
  tx.offset = 2'500;
  CHECK(KernelClockFromTimex(tx, TIME_OK).offset_seconds == Approx(0.0025));
  tx.status = STA_INS;
  CHECK(KernelClockFromTimex(tx, TIME_INS).status_flags == std::vector<std::string>{"INS"});
  CHECK(KernelClockFromTimex(tx, TIME_INS).state_name == "insert");
  CHECK(KernelClockFromTimex(tx, 42).state_name == "unknown");
}

TEST_CASE("clock: adjtimex reads without privilege", "[unit]") {
  auto k = ReadKernelClock();
  REQUIRE(k.ok());
  CHECK(k->synchronized == ((k->status & STA_UNSYNC) == 0 && k->max_error_seconds < 16.0));
}

TEST_CASE("clock: a round with everything off reads only the kernel", "[unit]") {
  SystemClock clock;
  ClockRoundOptions opts;
  opts.chrony_enabled = false;
  opts.peer_offset_enabled = false;
  const ClockRoundResult r = RunClockRound(opts, {*net::IpAddress::Parse("10.0.0.1")}, clock);
  CHECK(r.kernel.has_value());
  CHECK(r.kernel_error.empty());
  CHECK(r.ntp.empty());
  CHECK_FALSE(r.chrony_enabled);
  CHECK_FALSE(r.chrony.has_value());
  CHECK(r.chrony_error.empty());
  CHECK(r.peers.empty());
}

TEST_CASE("clock: chrony errors say what went wrong", "[unit]") {
  SystemClock clock;
  ClockRoundOptions opts;
  opts.peer_offset_enabled = false;
  opts.timeout = milliseconds(60);
  opts.chrony_address = "localhost:323";
  ClockRoundResult r = RunClockRound(opts, {}, clock);
  CHECK(r.chrony_enabled);
  CHECK_FALSE(r.chrony.has_value());
  CHECK(r.chrony_error == "not an IP address with optional port: \"localhost:323\"");

  // A UDP port on loopback that never answers (ours, bound and never read).
  const int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(silent >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
  opts.chrony_address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  r = RunClockRound(opts, {}, clock);
  CHECK(r.chrony_error == "no reply from chronyd at " + opts.chrony_address + " within 60ms");
  ::close(silent);
}

}  // namespace
}  // namespace cbe::probes
