#include "exporter/intent/diff.h"

#include <algorithm>
#include <map>

namespace cbe::intent {

std::string_view DiffKindName(DiffKind k) {
  switch (k) {
    case DiffKind::kMissing:
      return "missing";
    case DiffKind::kUnexpected:
      return "unexpected";
    case DiffKind::kDrift:
      return "drift";
  }
  return "?";
}

std::string SessionDiff::Describe() const {
  auto peer = [](const std::string& addr, std::uint32_t as) {
    return addr + " AS " + std::to_string(as);
  };
  switch (kind) {
    case DiffKind::kMissing:
      return protocol + ": expected (" + peer(expected_address, expected_as) + ", from " + source +
             ") but BIRD does not run it";
    case DiffKind::kUnexpected:
      return protocol + ": BIRD runs it (" + peer(actual_address, actual_as) +
             ") but Calico does not ask for it";
    case DiffKind::kDrift:
      return protocol + ": BIRD runs " + peer(actual_address, actual_as) + ", Calico asks for " +
             peer(expected_address, expected_as) + " (from " + source + ")";
  }
  return protocol;
}

std::vector<SessionDiff> DiffSessions(const std::vector<Session>& expected,
                                      const std::vector<RunningSession>& running) {
  std::map<std::string, const RunningSession*> by_name;
  for (const RunningSession& r : running) {
    by_name.emplace(r.protocol, &r);
  }
  std::vector<SessionDiff> out;
  std::map<std::string, bool> expected_names;
  for (const Session& e : expected) {
    expected_names[e.protocol] = true;
    const auto it = by_name.find(e.protocol);
    if (it == by_name.end()) {
      out.push_back(
          {DiffKind::kMissing, e.protocol, e.neighbor_address, e.neighbor_as, "", 0, e.source});
      continue;
    }
    const RunningSession& r = *it->second;
    std::string actual = CanonicalIp(r.neighbor_address);
    if (actual.empty()) {
      actual = r.neighbor_address;
    }
    if (actual != e.neighbor_address || r.neighbor_as != e.neighbor_as) {
      out.push_back({DiffKind::kDrift, e.protocol, e.neighbor_address, e.neighbor_as,
                     r.neighbor_address, r.neighbor_as, e.source});
    }
  }
  for (const RunningSession& r : running) {
    if (!expected_names.contains(r.protocol)) {
      out.push_back(
          {DiffKind::kUnexpected, r.protocol, "", 0, r.neighbor_address, r.neighbor_as, ""});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const SessionDiff& a, const SessionDiff& b) {
    return a.protocol < b.protocol;
  });
  return out;
}

}  // namespace cbe::intent
