// The spare buffers a round takes and a released snapshot gives back.

#include "exporter/base/recycler.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cbe {
namespace {

std::vector<std::string> Filled(std::size_t n) {
  std::vector<std::string> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back("a string longer than the small-string buffer " + std::to_string(i));
  }
  return v;
}

TEST_CASE("recycler: a buffer given back is the one taken next, empty", "[unit]") {
  VectorRecycler<std::string> r;
  std::vector<std::string> v = Filled(1000);
  const std::string* data = v.data();
  r.Give(std::move(v));
  CHECK(r.SpareCapacities() == std::vector<std::size_t>{1000});
  std::vector<std::string> again = r.Take(1000);
  CHECK(again.data() == data);
  CHECK(again.empty());
  CHECK(again.capacity() >= 1000);
  CHECK(r.SpareCapacities().empty());
  // Nothing spare: a new buffer with the room asked for.
  std::vector<std::string> fresh = r.Take(10);
  CHECK(fresh.empty());
  CHECK(fresh.capacity() >= 10);
}

TEST_CASE("recycler: the smallest spare that fits, else the largest, grown", "[unit]") {
  VectorRecycler<int> r(3);
  for (std::size_t n : {100, 400, 200}) {
    std::vector<int> v;
    v.reserve(n);
    r.Give(std::move(v));
  }
  CHECK(r.Take(150).capacity() == 200);
  std::vector<int> grown = r.Take(1000);  // 400 is the largest left: grown to 1000.
  CHECK(grown.capacity() >= 1000);
  CHECK(r.SpareCapacities() == std::vector<std::size_t>{100});
}

TEST_CASE("recycler: keeps at most max_spare buffers, the largest ones", "[unit]") {
  VectorRecycler<int> r(2);
  for (std::size_t n : {300, 100, 200, 50}) {
    std::vector<int> v;
    v.reserve(n);
    r.Give(std::move(v));
  }
  std::vector<std::size_t> kept = r.SpareCapacities();
  std::sort(kept.begin(), kept.end());
  CHECK(kept == std::vector<std::size_t>{200, 300});
  // A buffer without capacity is not kept.
  r.Give(std::vector<int>());
  CHECK(r.SpareCapacities().size() == 2);
}

TEST_CASE("recycler: a spare far larger than needed is freed, not kept going round", "[unit]") {
  VectorRecycler<int> r;
  std::vector<int> big;
  big.reserve(10000);
  r.Give(std::move(big));
  std::vector<int> small = r.Take(100);
  CHECK(small.capacity() >= 100);
  CHECK(small.capacity() < 10000);
  CHECK(r.SpareCapacities().empty());
}

}  // namespace
}  // namespace cbe
