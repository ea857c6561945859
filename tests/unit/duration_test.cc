#include "exporter/base/duration.h"

#include <catch2/catch.hpp>

namespace cbe {
namespace {

using std::chrono::milliseconds;

TEST_CASE("duration: Prometheus spellings", "[unit]") {
  CHECK(ParseDuration("5s") == milliseconds(5000));
  CHECK(ParseDuration("100ms") == milliseconds(100));
  CHECK(ParseDuration("1m30s") == milliseconds(90000));
  CHECK(ParseDuration("1h") == milliseconds(3600000));
  CHECK(ParseDuration("2d") == milliseconds(172800000));
  CHECK(ParseDuration("0s") == milliseconds(0));
  for (const char* bad :
       {"", "5", "s", "5x", "-5s", "1.5s", "5s1m", "5s5s", " 5s", "5 s", "99999999999999999999s"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseDuration(bad).has_value());
  }
}

TEST_CASE("duration: formatting", "[unit]") {
  CHECK(FormatDuration(milliseconds(5000)) == "5s");
  CHECK(FormatDuration(milliseconds(90000)) == "1m30s");
  CHECK(FormatDuration(milliseconds(1500)) == "1s500ms");
  CHECK(FormatDuration(milliseconds(0)) == "0s");
  CHECK(FormatDuration(milliseconds(3600000)) == "1h");
}

// The probes' reasons ("no answer within 2s") read whole seconds as seconds, never "1m".
TEST_CASE("duration: timeouts as the probes write them", "[unit]") {
  CHECK(FormatTimeout(milliseconds(2000)) == "2s");
  CHECK(FormatTimeout(milliseconds(60000)) == "60s");
  CHECK(FormatTimeout(milliseconds(1500)) == "1500ms");
  CHECK(FormatTimeout(milliseconds(500)) == "500ms");
  CHECK(FormatTimeout(milliseconds(1)) == "1ms");
  CHECK(FormatTimeout(milliseconds(0)) == "0s");
}

}  // namespace
}  // namespace cbe
