// The 8-byte optional numbers of the snapshot's per-session fields: NaN or 2^64-1 mean "absent".

#include "exporter/base/compact_optional.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace cbe {
namespace {

TEST_CASE("compact optional: empty, set, reset, like std::optional", "[unit]") {
  OptionalDouble d;
  CHECK_FALSE(d.has_value());
  CHECK_FALSE(d);
  CHECK(d == std::nullopt);
  CHECK(d.value_or(-1.5) == -1.5);
  d = 0.0;  // Zero is a value, not absence.
  CHECK(d.has_value());
  CHECK(*d == 0.0);
  CHECK(d == 0.0);
  d = -3.25;
  CHECK(*d == -3.25);
  CHECK(d.value_or(7) == -3.25);
  d.reset();
  CHECK_FALSE(d);
  d = 1e300;
  CHECK(*d == 1e300);
  d = std::nullopt;
  CHECK_FALSE(d);

  OptionalCount c;
  CHECK_FALSE(c);
  c = 0u;
  CHECK(c);
  CHECK(*c == 0u);
  c = std::numeric_limits<std::uint64_t>::max() - 1;
  CHECK(*c == std::numeric_limits<std::uint64_t>::max() - 1);
  CHECK(c.value_or(5) == std::numeric_limits<std::uint64_t>::max() - 1);
}

TEST_CASE("compact optional: the sentinel is absence, never a value", "[unit]") {
  // NaN of either sign and payload, and the largest count, read back as empty.
  CHECK_FALSE(OptionalDouble(std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(OptionalDouble(-std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(OptionalDouble(std::nan("7")));
  CHECK(OptionalDouble(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(OptionalCount(std::numeric_limits<std::uint64_t>::max()));
  CHECK(OptionalCount::IsSentinel(std::numeric_limits<std::uint64_t>::max()));
  CHECK_FALSE(OptionalCount::IsSentinel(0));
}

TEST_CASE("compact optional: converts to and from std::optional and compares with it", "[unit]") {
  const std::optional<double> none;
  const std::optional<double> some = 2.5;
  CHECK_FALSE(OptionalDouble(none));
  CHECK(*OptionalDouble(some) == 2.5);
  const std::optional<double> back = OptionalDouble(some);
  CHECK(back == some);
  const std::optional<double> back_none = OptionalDouble();
  CHECK_FALSE(back_none);
  CHECK(OptionalDouble(some) == some);
  CHECK_FALSE(OptionalDouble(some) == none);
  CHECK(OptionalDouble() == none);
  // Equal when both are empty or both hold the same value.
  CHECK(OptionalCount() == OptionalCount());
  CHECK(OptionalCount(3u) == OptionalCount(3u));
  CHECK_FALSE(OptionalCount(3u) == OptionalCount(4u));
  CHECK_FALSE(OptionalCount(3u) == OptionalCount());
  CHECK(OptionalCount(3u) != OptionalCount(4u));
  std::ostringstream text;
  text << OptionalCount(12u) << " " << OptionalCount();
  CHECK(text.str() == "12 (none)");
}

static_assert(sizeof(OptionalDouble) == sizeof(double));
static_assert(sizeof(OptionalCount) == sizeof(std::uint64_t));

}  // namespace
}  // namespace cbe
