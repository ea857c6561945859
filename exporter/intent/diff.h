#pragma once

// What BIRD runs against what Calico asks for, on one node. The running side is a plain list the
// caller fills (from `show protocols all`, a BIRD config, ...); this file knows no BIRD text.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/sessions.h"

namespace cbe::intent {

// A BGP protocol BIRD runs.
struct RunningSession {
  std::string protocol;
  std::string neighbor_address;
  std::uint32_t neighbor_as = 0;
};

enum class DiffKind {
  kMissing,     // expected, BIRD does not run it (confd or BIRD not reloaded, template error)
  kUnexpected,  // BIRD runs it, Calico does not ask for it (stale config, hand-made protocol)
  kDrift,       // same protocol, other neighbour address or AS
};
std::string_view DiffKindName(DiffKind k);  // "missing", "unexpected", "drift"

struct SessionDiff {
  DiffKind kind;
  std::string protocol;
  std::string expected_address;  // empty for kUnexpected
  std::uint32_t expected_as = 0;
  std::string actual_address;  // empty for kMissing
  std::uint32_t actual_as = 0;
  std::string source;  // the object that asks for it (expected side)
  std::string Describe() const;
};

// Matched by protocol name; addresses compared in canonical form. Sorted by protocol.
std::vector<SessionDiff> DiffSessions(const std::vector<Session>& expected,
                                      const std::vector<RunningSession>& running);

}  // namespace cbe::intent
