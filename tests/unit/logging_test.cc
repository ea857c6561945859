#include "exporter/base/logging.h"

#include <catch2/catch.hpp>

namespace cbe::logging {
namespace {

TEST_CASE("logging: logfmt quotes what needs quoting", "[unit]") {
  CHECK(FormatLine(Format::kLogfmt, spdlog::level::warn, "2026-11-26T07:42:36.123Z", "BIRD is down",
                   {{"daemon", "bird"}, {"err", "connect /x: No such file"}, {"empty", ""}}) ==
        "level=warn ts=2026-11-26T07:42:36.123Z daemon=bird err=\"connect /x: No such file\" "
        "empty=\"\" msg=\"BIRD is down\"");
  CHECK(FormatLine(Format::kLogfmt, spdlog::level::info, "t", "a\"b\nc", {}) ==
        "level=info ts=t msg=\"a\\\"b\\nc\"");
}

TEST_CASE("logging: JSON", "[unit]") {
  CHECK(FormatLine(Format::kJson, spdlog::level::err, "t", "x", {{"k", "v\"\x01"}}) ==
        "{\"level\":\"error\",\"ts\":\"t\",\"k\":\"v\\\"\\u0001\",\"msg\":\"x\"}");
}

TEST_CASE("logging: flag values", "[unit]") {
  CHECK(ParseFormat("logfmt") == Format::kLogfmt);
  CHECK(ParseFormat("json") == Format::kJson);
  CHECK_FALSE(ParseFormat("text").has_value());
  CHECK(ParseLevel("debug") == spdlog::level::debug);
  CHECK(ParseLevel("warn") == spdlog::level::warn);
  CHECK_FALSE(ParseLevel("verbose").has_value());
}

}  // namespace
}  // namespace cbe::logging
