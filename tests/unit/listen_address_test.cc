#include "exporter/config/listen_address.h"

#include <catch2/catch.hpp>

namespace cbe {
namespace {

TEST_CASE("listen address: Prometheus spelling to civetweb's", "[unit]") {
  CHECK(CivetwebListeningPort(":10179") == "+10179");
  CHECK(CivetwebListeningPort("127.0.0.1:10179") == "127.0.0.1:10179");
  CHECK(CivetwebListeningPort("[::1]:9100") == "[::1]:9100");
  CHECK(CivetwebListeningPort("0.0.0.0:0") == "0.0.0.0:0");
  for (const char* bad : {"10179", "localhost:10179", ":", ":99999", ":-1", "[::1:10179",
                          "[nothex]:1", "1.2.3:80", ":80x"}) {
    CAPTURE(bad);
    CHECK_FALSE(CivetwebListeningPort(bad).has_value());
  }
}

}  // namespace
}  // namespace cbe
