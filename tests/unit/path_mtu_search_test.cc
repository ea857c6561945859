#include <catch2/catch.hpp>

#include "probes/mtu_probe.h"

namespace cbe::probes {
namespace {

// Drives the search against a path that carries packets up to `path` bytes.
std::pair<std::optional<int>, std::vector<int>> Run(int minimum, int interface_mtu, int path,
                                                    int max_steps = 12,
                                                    int lost_first_minimums = 0) {
  PathMtuSearch s(minimum, interface_mtu, max_steps);
  std::vector<int> tried;
  while (int size = s.Next()) {
    tried.push_back(size);
    const bool lost = size == minimum && lost_first_minimums-- > 0;
    s.Result(size <= path && !lost);
  }
  return {s.path_mtu(), tried};
}

TEST_CASE("path MTU search: a clean path costs two probes", "[unit]") {
  auto [mtu, tried] = Run(576, 1500, 1500);
  CHECK(mtu == 1500);
  CHECK(tried == std::vector<int>{576, 1500});
}

TEST_CASE("path MTU search: a 1400 hop is found exactly", "[unit]") {
  auto [mtu, tried] = Run(576, 1500, 1400);
  CHECK(mtu == 1400);
  CHECK(tried.size() <= 12);
  CHECK(tried[0] == 576);
  CHECK(tried[1] == 1500);
}

TEST_CASE("path MTU search: IPv6 minimum and odd sizes", "[unit]") {
  CHECK(Run(1280, 1500, 1281).first == 1281);
  CHECK(Run(1280, 9000, 8950, 16).first == 8950);
  CHECK(Run(1280, 1280, 1280).first == 1280);
}

TEST_CASE("path MTU search: the minimum gets a second chance", "[unit]") {
  auto [mtu, tried] = Run(576, 1500, 1500, 12, 1);
  CHECK(mtu == 1500);
  CHECK(tried == std::vector<int>{576, 576, 1500});
}

TEST_CASE("path MTU search: a peer that never answers has no path MTU", "[unit]") {
  PathMtuSearch s(576, 1500, 12);
  s.Result(false);
  s.Result(false);
  CHECK(s.Next() == 0);
  CHECK_FALSE(s.path_mtu().has_value());
  CHECK(s.reason() == "no echo reply even at the minimum size");
}

TEST_CASE("path MTU search: bounded steps report the interval", "[unit]") {
  PathMtuSearch s(576, 9000, 4);
  for (bool r : {true, false, true, false}) {
    s.Result(r);
  }
  CHECK(s.Next() == 0);
  CHECK(s.path_mtu() == 4788);
  CHECK(s.reason() == "search bounded: between 4788 and 6893");
}

TEST_CASE("path MTU search: an interface below the minimum", "[unit]") {
  PathMtuSearch s(1280, 1000, 12);
  CHECK(s.Next() == 0);
  CHECK(s.reason() == "interface MTU below the protocol minimum");
}

}  // namespace
}  // namespace cbe::probes
