#include "probes/listener_probe.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "exporter/base/logging.h"

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

template <typename T>
bool Decimal(std::string_view s, T* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

constexpr int kFieldsBeforeInode = 5;

std::string ReadFirstLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The descriptors of one process that link to one of `inodes`.
bool HoldsOneOf(const std::filesystem::path& fd_dir, const std::vector<std::uint64_t>& inodes) {
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fd_dir, ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
    constexpr std::string_view kSocket = "socket:[";
    if (link_ec || target.rfind(kSocket, 0) != 0 || target.back() != ']') {
      continue;
    }
    std::uint64_t inode = 0;
    if (Decimal(std::string_view(target).substr(kSocket.size(), target.size() - kSocket.size() - 1),
                &inode) &&
        std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) {
      return true;
    }
  }
  return false;
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
    // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, then the inode.
    for (int skip = 0; skip < kFieldsBeforeInode; ++skip) {
      NextField(&rest);
    }
    const std::string_view inode = NextField(&rest);
    const std::size_t colon = local.rfind(':');
    ProcNetTcpEntry e;
    unsigned state = 0;
    if (sl.empty() || sl.back() != ':' || colon == std::string_view::npos ||
        !Hex(local.substr(colon + 1), &e.local_port) || !Hex(st, &state) || state > 0xff ||
        !Decimal(inode, &e.inode)) {
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

std::vector<std::uint64_t> ListenerInodes(const ProcNetTcp& table, std::uint16_t port) {
  std::vector<std::uint64_t> inodes;
  for (const auto& e : table.entries) {
    if (e.state == kListen && e.local_port == port && e.inode != 0) {
      inodes.push_back(e.inode);
    }
  }
  return inodes;
}

std::vector<SocketHolder> FindSocketHolders(const std::vector<std::uint64_t>& inodes,
                                            const std::string& proc_root) {
  std::vector<SocketHolder> holders;
  if (inodes.empty()) {
    return holders;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(proc_root, ec)) {
    int pid = 0;
    if (!Decimal(entry.path().filename().string(), &pid) ||
        !HoldsOneOf(entry.path() / "fd", inodes)) {
      continue;
    }
    holders.push_back({pid, ReadFirstLine(entry.path() / "comm")});
  }
  std::sort(holders.begin(), holders.end(),
            [](const SocketHolder& a, const SocketHolder& b) { return a.pid < b.pid; });
  return holders;
}

std::string DescribeHolders(const std::vector<SocketHolder>& holders) {
  std::string out;
  for (const auto& h : holders) {
    out += (out.empty() ? "" : ", ") + (h.command.empty() ? std::string("?") : h.command) +
           " (pid " + std::to_string(h.pid) + ")";
  }
  return out;
}

ListenerResult ProbeListener(std::uint16_t port, const std::string& proc_root, bool find_holders) {
  ListenerResult r;
  const auto read = [&](const std::string& name, bool* known, bool* listening,
                        std::vector<std::uint64_t>* inodes) {
    std::ifstream in(proc_root + "/net/" + name);
    if (!in) {
      r.error +=
          (r.error.empty() ? "" : "; ") + std::string("cannot read ") + proc_root + "/net/" + name;
      return;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    *known = true;
    const ProcNetTcp table = ParseProcNetTcp(buf.str());
    *listening = HasListener(table, port);
    *inodes = ListenerInodes(table, port);
  };
  read("tcp", &r.ipv4_known, &r.ipv4, &r.ipv4_inodes);
  read("tcp6", &r.ipv6_known, &r.ipv6, &r.ipv6_inodes);
  if (find_holders) {
    r.ipv4_holders = FindSocketHolders(r.ipv4_inodes, proc_root);
    r.ipv6_holders = FindSocketHolders(r.ipv6_inodes, proc_root);
  }
  return r;
}

namespace {

class ListenerRound final : public ProbeRoundOf<ListenerSettings, ListenerSnapshot> {
 protected:
  std::shared_ptr<ListenerSnapshot> RunRound(const ListenerSettings&,
                                             const ProbeContext& context) override {
    auto snap = std::make_shared<ListenerSnapshot>();
    // Who holds the port is looked up (a walk over every process's descriptors) only when BIRD
    // says it could not open its listening socket.
    snap->result = ProbeListener(context.bgp_port(), "/proc", context.BirdHasNoListeningSocket());
    const ListenerResult& r = snap->result;
    const std::string now =
        std::string(r.ipv4 ? "ipv4 " : "") + (r.ipv6 ? "ipv6" : "") + "|" + r.error;
    if (now != last_) {
      logging::Write(r.ipv4 || r.ipv6 ? spdlog::level::info : spdlog::level::warn,
                     "local BGP listener",
                     {{"probe", "listener"},
                      {"port", std::to_string(context.bgp_port())},
                      {"ipv4", r.ipv4 ? "listening" : "no"},
                      {"ipv6", r.ipv6 ? "listening" : "no"},
                      {"err", r.error}});
    }
    last_ = now;
    snap->run.success = r.error.empty();
    return snap;
  }

 private:
  std::string last_;
};

class ListenerProberImpl final : public ProberOf<ListenerSettings, ListenerSnapshot> {
 public:
  bool ProbesPeers() const override { return false; }
  std::unique_ptr<ProbeRound> NewRound() const override {
    return std::make_unique<ListenerRound>();
  }

 protected:
  void Parse(SettingsReader& r, ListenerSettings* out) const override {
    if (!r.Keys({"enabled", "interval"})) {
      return;
    }
    r.Bool("enabled", &out->enabled);
    r.Duration("interval", &out->interval);
  }

  void ExposeResult(const ListenerSnapshot& listener, MetricWriter& out) const override {
    MetricFamily& up =
        out.Family("calico_bgp_listener_up",
                   "1 if something on this node listens on the BGP port, by address family.");
    if (listener.result.ipv4_known) {
      up.Add({{"family", "ipv4"}}, listener.result.ipv4 ? 1 : 0);
    }
    if (listener.result.ipv6_known) {
      up.Add({{"family", "ipv6"}}, listener.result.ipv6 ? 1 : 0);
    }
  }
};

const ListenerProberImpl kListenerProber;

}  // namespace

const Prober& ListenerProber() { return kListenerProber; }

}  // namespace cbe::probes
