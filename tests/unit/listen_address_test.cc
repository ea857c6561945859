#include "exporter/config/listen_address.h"

#include <catch2/catch.hpp>

namespace cbe {
namespace {

TEST_CASE("listen address: Prometheus spelling to civetweb's", "[unit]") {
  const auto civetweb = [](std::string_view text) {
    const auto a = ParseListenAddress(text);
    REQUIRE(a.ok());
    return a->CivetwebPorts();
  };
  CHECK(civetweb(":10179") == "+10179");
  CHECK(civetweb("127.0.0.1:10179") == "127.0.0.1:10179");
  CHECK(civetweb("[::1]:9100") == "[::1]:9100");
  CHECK(civetweb("0.0.0.0:0") == "0.0.0.0:0");
}

TEST_CASE("listen address: host and port, and back to Prometheus' spelling", "[unit]") {
  CHECK(*ParseListenAddress(":10179") == ListenAddress{"", 10179});
  CHECK(*ParseListenAddress("[fd00::1]:443") == ListenAddress{"fd00::1", 443});
  CHECK(*ParseListenAddress("10.0.0.1:65535") == ListenAddress{"10.0.0.1", 65535});
  for (const char* text : {":10179", "127.0.0.1:0", "[::1]:9100"}) {
    CHECK(ParseListenAddress(text)->ToString() == text);
  }
}

TEST_CASE("listen address: malformed ones are refused with what was expected", "[unit]") {
  for (const char* bad : {"10179", "localhost:10179", ":", ":99999", ":65536", ":-1", "[::1:10179",
                          "[nothex]:1", "[]:1", "1.2.3:80", ":80x", "::1:80"}) {
    CAPTURE(bad);
    const auto a = ParseListenAddress(bad);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().message ==
          "expected [host]:port with an IP address as host, got \"" + std::string(bad) + "\"");
  }
}

}  // namespace
}  // namespace cbe
