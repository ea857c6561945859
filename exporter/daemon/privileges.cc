#include "exporter/daemon/privileges.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

namespace cbe {
namespace {

struct CapDeleter {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<_cap_struct, CapDeleter>;

std::string CapText(cap_t caps) {
  ssize_t len = 0;
  char* text = cap_to_text(caps, &len);
  if (text == nullptr) {
    return "?";
  }
  std::string out(text, static_cast<std::size_t>(len));
  cap_free(text);
  return out;
}

std::string CapName(cap_value_t cap) {
  char* name = cap_to_name(cap);
  std::string out = name != nullptr ? name : "?";
  cap_free(name);
  return out;
}

int ThreadCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      return std::atoi(line.c_str() + 8);
    }
  }
  return -1;
}

bool Has(cap_t caps, cap_value_t cap, cap_flag_t flag) {
  cap_flag_value_t v = CAP_CLEAR;
  return cap_get_flag(caps, cap, flag, &v) == 0 && v == CAP_SET;
}

bool Kept(const std::vector<cap_value_t>& keep, cap_value_t cap) {
  return std::find(keep.begin(), keep.end(), cap) != keep.end();
}

}  // namespace

std::vector<cap_value_t> NeededCapabilities(std::uint16_t listen_port) {
  std::vector<cap_value_t> caps = {CAP_NET_RAW};
  // Ports below this one need CAP_NET_BIND_SERVICE (ip_unprivileged_port_start's default).
  constexpr std::uint16_t kFirstUnprivilegedPort = 1024;
  if (listen_port > 0 && listen_port < kFirstUnprivilegedPort) {
    caps.push_back(CAP_NET_BIND_SERVICE);
  }
  return caps;
}

namespace {

// Anything beyond `keep` in any set (permitted, effective, inheritable, bounding, ambient).
bool HoldsMoreThan(cap_t current, const std::vector<cap_value_t>& keep, cap_value_t last) {
  for (cap_value_t cap = 0; cap <= last; ++cap) {
    if (Kept(keep, cap)) {
      continue;
    }
    if (Has(current, cap, CAP_PERMITTED) || Has(current, cap, CAP_EFFECTIVE) ||
        Has(current, cap, CAP_INHERITABLE) || cap_get_bound(cap) == 1 ||
        cap_get_ambient(cap) == 1) {
      return true;
    }
  }
  // The ambient set only matters across execve, which never happens; cleared all the same.
  return cap_get_ambient(CAP_NET_RAW) == 1;
}

// Drops what `keep` does not name from the bounding set (needs CAP_SETPCAP, raised for it) and
// the ambient set, then sets permitted = effective = `keep` (where permitted before).
Result<bool> DropAllBut(cap_t current, const std::vector<cap_value_t>& keep, cap_value_t last) {
  if (Has(current, CAP_SETPCAP, CAP_PERMITTED)) {
    CapPtr raise(cap_dup(current));
    const cap_value_t setpcap[] = {CAP_SETPCAP};
    if (!raise || cap_set_flag(raise.get(), CAP_EFFECTIVE, 1, setpcap, CAP_SET) != 0 ||
        cap_set_proc(raise.get()) != 0) {
      return Error{std::string("cannot raise CAP_SETPCAP: ") + std::strerror(errno)};
    }
    for (cap_value_t cap = 0; cap <= last; ++cap) {
      if (!Kept(keep, cap) && cap_get_bound(cap) == 1 && cap_drop_bound(cap) != 0) {
        return Error{"cannot drop " + CapName(cap) +
                     " from the bounding set: " + std::strerror(errno)};
      }
    }
  }
  if (cap_reset_ambient() != 0 && errno != EINVAL) {
    return Error{std::string("cannot clear the ambient set: ") + std::strerror(errno)};
  }
  CapPtr wanted(cap_init());
  if (!wanted) {
    return Error{std::string("cap_init: ") + std::strerror(errno)};
  }
  for (cap_value_t cap : keep) {
    if (Has(current, cap, CAP_PERMITTED)) {
      const cap_value_t one[] = {cap};
      if (cap_set_flag(wanted.get(), CAP_PERMITTED, 1, one, CAP_SET) != 0 ||
          cap_set_flag(wanted.get(), CAP_EFFECTIVE, 1, one, CAP_SET) != 0) {
        return Error{"cap_set_flag " + CapName(cap) + ": " + std::strerror(errno)};
      }
    }
  }
  if (cap_set_proc(wanted.get()) != 0) {
    return Error{std::string("cap_set_proc: ") + std::strerror(errno)};
  }
  return true;
}

// What the process holds now, checked against `keep`, into the report.
Result<bool> ReportAfter(const std::vector<cap_value_t>& keep, cap_value_t last,
                         CapabilityReport* report) {
  CapPtr now(cap_get_proc());
  report->after = now ? CapText(now.get()) : "?";
  std::string kept;
  for (cap_value_t cap = 0; cap <= last; ++cap) {
    if (!Kept(keep, cap) && cap_get_bound(cap) == 1) {
      report->bounding_limited = false;
    }
    if (now && Has(now.get(), cap, CAP_PERMITTED)) {
      if (!Kept(keep, cap)) {
        return Error{"still holds " + CapName(cap) + " after dropping"};
      }
      kept += (kept.empty() ? "" : ",") + CapName(cap);
    }
  }
  report->kept = kept.empty() ? "none" : kept;
  return true;
}

}  // namespace

Result<CapabilityReport> DropCapabilities(const std::vector<cap_value_t>& keep) {
  if (const int threads = ThreadCount(); threads != 1) {
    return Error{"capabilities must be dropped before any thread starts (the process has " +
                 std::to_string(threads) + " threads)"};
  }
  CapPtr current(cap_get_proc());
  if (!current) {
    return Error{std::string("cap_get_proc: ") + std::strerror(errno)};
  }
  CapabilityReport report;
  report.before = CapText(current.get());
  const cap_value_t last = static_cast<cap_value_t>(cap_max_bits()) - 1;
  if (HoldsMoreThan(current.get(), keep, last)) {
    if (auto dropped = DropAllBut(current.get(), keep, last); !dropped) {
      return dropped.error();
    }
    report.changed = true;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Error{std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno)};
  }
  if (auto checked = ReportAfter(keep, last, &report); !checked) {
    return checked.error();
  }
  return report;
}

std::string CapabilityNames(unsigned long long mask) {  // NOLINT(google-runtime-int)
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if ((mask >> cap) & 1ULL) {
      out += (out.empty() ? "" : ",") + CapName(static_cast<cap_value_t>(cap));
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace cbe
