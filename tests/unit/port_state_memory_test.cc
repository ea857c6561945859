// The TCP prober's memory of each peer's port state: a state is logged once, when it changes.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/tcp_syn_probe.h"

namespace cbe::probes {
namespace {

PortResult Port(const std::string& address, PortState state) {
  PortResult r;
  r.peer = *net::IpAddress::Parse(address);
  r.state = state;
  return r;
}

std::vector<std::string> Peers(const std::vector<const PortResult*>& changed) {
  std::vector<std::string> out;
  for (const PortResult* r : changed) {
    out.push_back(r->peer.ToString());
  }
  return out;
}

TEST_CASE("port state memory: new peers and changed states, once each", "[unit]") {
  PortStateMemory memory;
  std::vector<PortResult> round = {Port("10.0.0.1", PortState::kOpen),
                                   Port("10.0.0.2", PortState::kFiltered),
                                   Port("fd00::3", PortState::kClosed)};
  CHECK(Peers(memory.Update(round)) == std::vector<std::string>{"10.0.0.1", "10.0.0.2", "fd00::3"});
  CHECK(memory.Update(round).empty());
  round[1].state = PortState::kOpen;
  const auto changed = memory.Update(round);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0] == &round[1]);  // The round's own result, with its reason.
  CHECK(memory.Update(round).empty());
  CHECK(memory.size() == 3);
}

TEST_CASE("port state memory: a peer a round did not probe is forgotten", "[unit]") {
  PortStateMemory memory;
  memory.Update({Port("10.0.0.1", PortState::kOpen), Port("10.0.0.2", PortState::kOpen)});
  CHECK(memory.Update({Port("10.0.0.1", PortState::kOpen)}).empty());
  CHECK(memory.size() == 1);
  // Back in the next round: new again, in the same state as before.
  CHECK(Peers(memory.Update(
            {Port("10.0.0.1", PortState::kOpen), Port("10.0.0.2", PortState::kOpen)})) ==
        std::vector<std::string>{"10.0.0.2"});
  CHECK(memory.Update({}).empty());
  CHECK(memory.size() == 0);
}

}  // namespace
}  // namespace cbe::probes
