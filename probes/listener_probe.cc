#include "probes/listener_probe.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace cbe::probes {
namespace {

constexpr std::uint8_t kListen = 0x0A;

std::string_view NextField(std::string_view* rest) {
  std::size_t i = 0;
  while (i < rest->size() && (*rest)[i] == ' ') {
    ++i;
  }
  std::size_t j = i;
  while (j < rest->size() && (*rest)[j] != ' ') {
    ++j;
  }
  std::string_view field = rest->substr(i, j - i);
  *rest = rest->substr(j);
  return field;
}

template <typename T>
bool Hex(std::string_view s, T* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

ProcNetTcp ParseProcNetTcp(std::string_view text) {
  ProcNetTcp out;
  bool header = true;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (header) {
      header = false;  // "  sl  local_address rem_address   st ..."
      continue;
    }
    if (line.find_first_not_of(' ') == std::string_view::npos) {
      continue;
    }
    std::string_view rest = line;
    const std::string_view sl = NextField(&rest);
    const std::string_view local = NextField(&rest);
    NextField(&rest);  // Remote address.
    const std::string_view st = NextField(&rest);
    const std::size_t colon = local.rfind(':');
    ProcNetTcpEntry e;
    unsigned state = 0;
    if (sl.empty() || sl.back() != ':' || colon == std::string_view::npos ||
        !Hex(local.substr(colon + 1), &e.local_port) || !Hex(st, &state) || state > 0xff) {
      ++out.malformed_lines;
      continue;
    }
    e.state = static_cast<std::uint8_t>(state);
    out.entries.push_back(e);
  }
  return out;
}

bool HasListener(const ProcNetTcp& table, std::uint16_t port) {
  for (const auto& e : table.entries) {
    if (e.state == kListen && e.local_port == port) {
      return true;
    }
  }
  return false;
}

ListenerResult ProbeListener(std::uint16_t port, const std::string& proc_root) {
  ListenerResult r;
  const auto read = [&](const std::string& name, bool* known, bool* listening) {
    std::ifstream in(proc_root + "/net/" + name);
    if (!in) {
      r.error +=
          (r.error.empty() ? "" : "; ") + std::string("cannot read ") + proc_root + "/net/" + name;
      return;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    *known = true;
    *listening = HasListener(ParseProcNetTcp(buf.str()), port);
  };
  read("tcp", &r.ipv4_known, &r.ipv4);
  read("tcp6", &r.ipv6_known, &r.ipv6);
  return r;
}

}  // namespace cbe::probes
