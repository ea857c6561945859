// Which interface holds a local address, on this machine's own loopback (no namespace needed:
// every network namespace has `lo` with 127.0.0.1 once it is up, as the test machine's is).

#include "probes/net/route.h"

#include <catch2/catch.hpp>
#include <vector>

#include "probes/net/address.h"

namespace cbe::net {
namespace {

IpAddress Ip(const char* text) {
  const auto ip = IpAddress::Parse(text);
  REQUIRE(ip);
  return *ip;
}

TEST_CASE("interfaces holding: the loopback's address and one nobody holds, in one call",
          "[unit]") {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): on no interface of a test machine.
  const std::vector<IpAddress> asked = {Ip("192.0.2.1"), Ip("127.0.0.1"), Ip("192.0.2.1")};
  const auto found = InterfacesHolding(asked);
  REQUIRE(found.size() == 3);
  REQUIRE(found[0]);
  CHECK_FALSE(found[0]->has_value());
  REQUIRE(found[1]);
  REQUIRE(found[1]->has_value());
  CHECK((*found[1])->name == "lo");
  CHECK((*found[1])->loopback);
  CHECK((*found[1])->kind.empty());  // Not a virtual link kind.
  REQUIRE(found[2]);
  CHECK_FALSE(found[2]->has_value());
  CHECK(InterfacesHolding({}).empty());
}

}  // namespace
}  // namespace cbe::net
