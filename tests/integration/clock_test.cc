// The clock probes against real daemons: chronyd (Debian `chrony`, always with -x so the system
// clock is never touched) serving NTP and its command port on 127.0.0.1 on ports of its own,
// one of them under `faketime` 2.5 s ahead; a Linux peer and a skewed ICMP timestamp responder
// in network namespaces of their own.

#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lab.h"
#include "probes/clock/clock_probe.h"
#include "probes/clock/icmp_timestamp.h"
#include "probes/net/socket_util.h"

extern char** environ;

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;

// A UDP port on 127.0.0.1 that nothing used a moment ago.
int FreeUdpPort() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string UniquePrefix() {
  static int counter = 0;
  return "cbk" + std::to_string(::getpid()) + "n" + std::to_string(++counter);
}

// libfaketime (Debian `libfaketime`, which `faketime` pulls in), e.g.
// /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1; "" when absent.
std::string LibFaketime() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", ec)) {
    const auto lib = entry.path() / "faketime" / "libfaketime.so.1";
    if (std::filesystem::exists(lib, ec)) {
      return lib.string();
    }
  }
  return "";
}

void RequireTools() {
  for (const char* tool : {"/usr/sbin/chronyd", "/usr/bin/chronyc"}) {
    INFO(tool << " is missing: apt-get install chrony faketime");
    REQUIRE(::access(tool, X_OK) == 0);
  }
  INFO("libfaketime is missing: apt-get install faketime");
  REQUIRE_FALSE(LibFaketime().empty());
}

// One chronyd with its own ports and files under `dir`, stopped (TERM, then KILL) by the
// destructor. The skewed one runs with libfaketime preloaded (FAKETIME=+2.5s) rather than under
// the `faketime` wrapper: the wrapper forks, and killing it would leave chronyd running.
class Chronyd {
 public:
  // `lines`: the NTP part of chrony.conf; the command port and the files are added here.
  Chronyd(const std::string& dir, const std::vector<std::string>& lines, bool faketime_ahead)
      : dir_(dir), cmd_port_(FreeUdpPort()) {
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0700);  // chronyd wants its Unix socket's directory private.
    std::ofstream conf(dir_ + "/chrony.conf");
    for (const auto& l : lines) {
      conf << l << "\n";
    }
    conf << "cmdport " << cmd_port_ << "\nbindcmdaddress 127.0.0.1\n"
         << "bindcmdaddress " << dir_ << "/chronyd.sock\n"
         << "pidfile " << dir_ << "/chronyd.pid\ndriftfile " << dir_ << "/drift\n";
    conf.close();
    std::vector<std::string> argv = {"/usr/sbin/chronyd",  "-x", "-u", "root", "-d", "-f",
                                     dir_ + "/chrony.conf"};
    std::vector<char*> args;
    for (auto& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      env_strings.emplace_back(*e);
    }
    if (faketime_ahead) {
      env_strings.push_back("LD_PRELOAD=" + LibFaketime());
      env_strings.emplace_back("FAKETIME=+2.5s");
    }
    std::vector<char*> env;
    for (auto& e : env_strings) {
      env.push_back(e.data());
    }
    env.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const std::string log = dir_ + "/log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("cannot start chronyd: " + std::string(std::strerror(rc)));
    }
  }
  ~Chronyd() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!PollUntil(5s, [&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; })) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  Chronyd(const Chronyd&) = delete;
  Chronyd& operator=(const Chronyd&) = delete;

  int cmd_port() const { return cmd_port_; }
  std::string cmd_address() const { return "127.0.0.1:" + std::to_string(cmd_port_); }
  std::string Log() const {
    std::ifstream in(dir_ + "/log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string dir_;
  int cmd_port_;
  pid_t pid_ = -1;
};

// A temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() : path_("/tmp/" + UniquePrefix()) { std::filesystem::create_directories(path_); }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> ServerLines(int ntp_port, bool local_reference) {
  std::vector<std::string> lines = {"port " + std::to_string(ntp_port), "bindaddress 127.0.0.1",
                                    "allow 127.0.0.1"};
  if (local_reference) {
    lines.emplace_back("local stratum 8");
  }
  return lines;
}

std::map<std::string, probes::NtpServerResult> QueryNtp(const std::vector<std::string>& servers) {
  SystemClock clock;
  std::map<std::string, probes::NtpServerResult> by_server;
  for (auto& r : probes::QueryNtpServers(servers, probes::NtpQueryOptions{1000ms}, clock)) {
    by_server[r.server] = r;
  }
  return by_server;
}

// `chronyc tracking` output as "Field" -> "value text".
std::map<std::string, std::string> Chronyc(int cmd_port) {
  const CommandResult r =
      RunCommand({"chronyc", "-h", "127.0.0.1", "-p", std::to_string(cmd_port), "tracking"}, 10s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> fields;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t colon = line.find(" : ");
    if (colon != std::string::npos) {
      std::string key = line.substr(0, colon);
      key.erase(key.find_last_not_of(' ') + 1);
      fields[key] = line.substr(colon + 3);
    }
  }
  return fields;
}

probes::ChronyTracking Tracking(const std::string& address) {
  SystemClock clock;
  auto t = probes::QueryChronyTracking(address, 1000ms, clock);
  INFO((t.ok() ? "" : t.error().message));
  REQUIRE(t.ok());
  return *t;
}

// Our reading against chronyc's of the same update; the system time offset may still move by a
// few microseconds between the two.
void CheckSameAsChronyc(const probes::ChronyTracking& t, std::map<std::string, std::string> c) {
  INFO("chronyc: System time: " << c["System time"] << ", Last offset: " << c["Last offset"]);
  CHECK(c["Reference ID"].substr(0, 8) == t.reference_id_hex);
  CHECK(std::stoi(c["Stratum"]) == t.stratum);
  const auto ref_time = static_cast<std::time_t>(t.reference_time);
  std::tm tm{};
  ::gmtime_r(&ref_time, &tm);
  char ref_text[64];
  std::strftime(ref_text, sizeof(ref_text), "%a %b %d %H:%M:%S %Y", &tm);
  CHECK(c["Ref time (UTC)"] == ref_text);
  const double system_time = std::stod(c["System time"]);
  const double chronyc_offset =
      c["System time"].find("slow") != std::string::npos ? system_time : -system_time;
  CHECK(t.offset_seconds == Approx(chronyc_offset).margin(0.001));
  CHECK(t.last_offset_seconds == Approx(-std::stod(c["Last offset"])).margin(0.001));
  CHECK(t.rms_offset_seconds == Approx(std::stod(c["RMS offset"])).margin(0.001));
  CHECK(t.root_delay_seconds == Approx(std::stod(c["Root delay"])).margin(0.001));
  const std::map<std::string, int> leaps = {
      {"Normal", 0}, {"Insert second", 1}, {"Delete second", 2}, {"Not synchronised", 3}};
  CHECK(leaps.at(c["Leap status"]) == t.leap_status);
}

// Our reading and chronyc's of the same clock update: read ours, run chronyc, read ours again,
// until no update (a new reference time) came in between.
void CheckSameAsChronyc(const Chronyd& d) {
  probes::ChronyTracking ours;
  std::map<std::string, std::string> chronyc;
  const bool same_update = PollUntil(10s, [&] {
    const auto before = Tracking(d.cmd_address());
    chronyc = Chronyc(d.cmd_port());
    ours = Tracking(d.cmd_address());
    return before.reference_time == ours.reference_time;
  });
  REQUIRE(same_update);
  CheckSameAsChronyc(ours, chronyc);
}

TEST_CASE("clock: SNTP offsets of a real chronyd and of one 2.5 s ahead", "[integration][clock]") {
  RequireTools();
  TempDir dir;
  const int port_a = FreeUdpPort();
  const int port_b = FreeUdpPort();
  Chronyd a(dir.path() + "/a", ServerLines(port_a, true), false);
  Chronyd b(dir.path() + "/b", ServerLines(port_b, true), true);
  const std::string server_a = "127.0.0.1:" + std::to_string(port_a);
  const std::string server_b = "127.0.0.1:" + std::to_string(port_b);
  std::map<std::string, probes::NtpServerResult> r;
  const bool up = PollUntil(10s, [&] {
    r = QueryNtp({server_a, server_b});
    return r[server_a].up && r[server_b].up;
  });
  INFO("a: " << r[server_a].reason << "\n"
             << a.Log() << "b: " << r[server_b].reason << "\n"
             << b.Log());
  REQUIRE(up);
  CHECK(std::abs(*r[server_a].offset_seconds) < 0.05);
  CHECK(*r[server_b].offset_seconds == Approx(2.5).margin(0.05));
  for (const auto* s : {&r[server_a], &r[server_b]}) {
    CHECK(s->stratum == 8);
    CHECK(s->leap == 0);
    CHECK(s->reference_id == "127.127.1.1");
    CHECK(*s->rtt_seconds < 0.05);
    CHECK(s->address == s->server);
  }

  SECTION("a name from /etc/hosts, a closed port and a bad spec, all in one query") {
    const int closed = FreeUdpPort();
    const std::string by_name = "localhost:" + std::to_string(port_b);
    const std::string refused = "127.0.0.1:" + std::to_string(closed);
    auto q = QueryNtp({by_name, refused, "no such:host"});
    INFO(q[by_name].reason);
    REQUIRE(q[by_name].up);
    CHECK(*q[by_name].offset_seconds == Approx(2.5).margin(0.05));
    CHECK(q[refused].reason == "connection refused: nothing listens on " + refused);
    CHECK(q["no such:host"].reason == "not an address or host name: \"no such:host\"");
  }
}

TEST_CASE("clock: an unsynchronised chronyd is reported as such", "[integration][clock]") {
  RequireTools();
  TempDir dir;
  const int port = FreeUdpPort();
  Chronyd u(dir.path() + "/u", ServerLines(port, false), false);
  const std::string server = "127.0.0.1:" + std::to_string(port);
  std::map<std::string, probes::NtpServerResult> r;
  REQUIRE(PollUntil(10s, [&] {
    r = QueryNtp({server});
    return r[server].stratum.has_value();
  }));
  CHECK_FALSE(r[server].up);
  CHECK(r[server].reason == "server unsynchronised (leap indicator 3, stratum 0)");
  const auto t = Tracking(u.cmd_address());
  CHECK(t.leap_status == 3);
  CheckSameAsChronyc(u);
}

TEST_CASE("clock: chronyd's tracking report read back as chronyc prints it",
          "[integration][clock]") {
  RequireTools();
  TempDir dir;
  const int port_b = FreeUdpPort();
  Chronyd b(dir.path() + "/b", ServerLines(port_b, true), true);
  // A chronyd that follows b; with -x it only tracks how far its clock is from b's.
  Chronyd c(dir.path() + "/c",
            {"server 127.0.0.1 port " + std::to_string(port_b) + " iburst minpoll -2 maxpoll -2",
             "port 0"},
            false);
  SystemClock clock;
  probes::ChronyTracking t;
  const bool synced = PollUntil(20s, [&] {
    auto r = probes::QueryChronyTracking(c.cmd_address(), 500ms, clock);
    if (!r.ok()) {
      return false;
    }
    t = *r;
    return t.stratum == 9 && std::abs(t.offset_seconds - 2.5) < 0.05;
  });
  INFO(c.Log());
  REQUIRE(synced);
  CHECK(t.reference_address == "127.0.0.1");
  CHECK(t.reference_id_hex == "7F000001");
  CHECK(t.leap_status == 0);
  CheckSameAsChronyc(c);
  // The local-mode server itself.
  const auto tb = Tracking(b.cmd_address());
  CHECK(tb.reference_id_hex == "7F7F0101");
  CHECK(tb.stratum == 8);
  CheckSameAsChronyc(b);

  SECTION("one round: NTP and chrony agree on +2.5 s") {
    probes::ClockRoundOptions opts;
    opts.ntp_servers = {"127.0.0.1:" + std::to_string(port_b)};
    opts.chrony_address = c.cmd_address();
    opts.peer_offset_enabled = false;
    const auto round = probes::RunClockRound(opts, {}, clock);
    REQUIRE(round.kernel.has_value());
    REQUIRE(round.ntp.size() == 1);
    REQUIRE(round.ntp[0].up);
    CHECK(*round.ntp[0].offset_seconds == Approx(2.5).margin(0.05));
    INFO(round.chrony_error);
    REQUIRE(round.chrony.has_value());
    CHECK(round.chrony->offset_seconds == Approx(2.5).margin(0.05));
  }
  SECTION("no chronyd on the port") {
    const std::string closed = "127.0.0.1:" + std::to_string(FreeUdpPort());
    auto r = probes::QueryChronyTracking(closed, 1000ms, clock);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "connection refused: no chronyd command port at " + closed);
  }
}

// ---- ICMP timestamps ----------------------------------------------------------------------

const net::IpAddress kLinuxPeer = *net::IpAddress::Parse("10.96.1.2");
const net::IpAddress kSkewedPeer = *net::IpAddress::Parse("10.96.2.2");
constexpr std::uint32_t kResponderMark = 0xcbe;

// P-a (the observed node) with a veth to P-b (a Linux peer, 10.96.1.2) and one to P-c (a raw
// socket responder 1.5 s ahead, 10.96.2.2; its kernel's own timestamp replies are dropped by
// iptables, the responder's carry a mark). Namespaces are deleted by the destructor.
class TimestampLab {
 public:
  TimestampLab() : prefix_(UniquePrefix()) {
    for (const char* n : {"a", "b", "c"}) {
      Ip({"netns", "add", Netns(n)});
      Ip({"-n", Netns(n), "link", "set", "lo", "up"});
    }
    Link("b", "10.96.1.1/24", "10.96.1.2/24");
    Link("c", "10.96.2.1/24", "10.96.2.2/24");
    Exec("c", {"iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "timestamp-reply", "-m",
               "mark", "!", "--mark", std::to_string(kResponderMark), "-j", "DROP"});
  }
  ~TimestampLab() {
    for (const char* n : {"a", "b", "c"}) {
      RunCommand({"ip", "netns", "del", Netns(n)});
    }
  }
  TimestampLab(const TimestampLab&) = delete;
  TimestampLab& operator=(const TimestampLab&) = delete;

  std::string Netns(const std::string& node) const { return prefix_ + "-" + node; }

 private:
  void Ip(std::vector<std::string> args) const {
    args.insert(args.begin(), "ip");
    const CommandResult r = RunCommand(args);
    if (r.exit_code != 0) {
      throw std::runtime_error("ip failed: " + r.err);
    }
  }
  void Exec(const std::string& node, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"netns", "exec", Netns(node)});
    Ip(argv);
  }
  void Link(const std::string& node, const std::string& a_addr, const std::string& peer_addr) {
    const std::string here = "to" + node;
    Ip({"-n", Netns("a"), "link", "add", here, "type", "veth", "peer", "name", "eth0", "netns",
        Netns(node)});
    Ip({"-n", Netns("a"), "addr", "add", a_addr, "dev", here});
    Ip({"-n", Netns("a"), "link", "set", here, "up"});
    Ip({"-n", Netns(node), "addr", "add", peer_addr, "dev", "eth0"});
    Ip({"-n", Netns(node), "link", "set", "eth0", "up"});
  }
  std::string prefix_;
};

// Answers ICMP timestamp requests from a raw socket in `netns` with a clock `skew` ahead,
// truncated to whole milliseconds as Linux does. Runs until destroyed.
class SkewedTimestampResponder {
 public:
  SkewedTimestampResponder(const std::string& netns, std::chrono::milliseconds skew) : skew_(skew) {
    thread_ = std::thread([this, netns] {
      try {
        RunInNetns(netns, [this] { Serve(); });
      } catch (const std::exception& e) {
        error_ = e.what();
        ready_ = true;
      }
    });
    PollUntil(5s, [&] { return ready_.load(); });
  }
  ~SkewedTimestampResponder() {
    stop_ = true;
    thread_.join();
  }
  SkewedTimestampResponder(const SkewedTimestampResponder&) = delete;
  SkewedTimestampResponder& operator=(const SkewedTimestampResponder&) = delete;

  const std::string& error() const { return error_; }
  int answered() const { return answered_; }

 private:
  void Serve() {
    auto fd = net::OpenSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (!fd) {
      throw std::runtime_error(fd.error().message);
    }
    const std::uint32_t mark = kResponderMark;
    if (::setsockopt(fd->get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
      throw std::runtime_error(net::ErrnoText("SO_MARK", errno));
    }
    ready_ = true;
    std::uint8_t buf[2048];
    while (!stop_) {
      const auto until = std::chrono::steady_clock::now() + 50ms;
      if (net::WaitReadable({fd->get()}, until, SystemClock()).empty()) {
        continue;
      }
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = ::recvfrom(fd->get(), buf, sizeof(buf), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      const auto now = std::chrono::system_clock::now() + skew_;
      if (n < 20 + 20) {
        continue;
      }
      const std::size_t ihl = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
      if (static_cast<std::size_t>(n) < ihl + 20 || buf[ihl] != 13) {
        continue;
      }
      const auto ms = static_cast<std::uint32_t>(probes::MsSinceMidnightUtc(now));
      std::vector<std::uint8_t> reply(buf + ihl, buf + ihl + 20);
      reply[0] = 14;
      reply[2] = reply[3] = 0;
      for (int i = 0; i < 4; ++i) {
        reply[12 + i] = reply[16 + i] = static_cast<std::uint8_t>(ms >> (24 - 8 * i));
      }
      const std::uint16_t sum = net::InternetChecksum(reply);
      reply[2] = static_cast<std::uint8_t>(sum >> 8);
      reply[3] = static_cast<std::uint8_t>(sum);
      if (::sendto(fd->get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                   from_len) == static_cast<ssize_t>(reply.size())) {
        ++answered_;
      }
    }
  }

  std::chrono::milliseconds skew_;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::string error_;
};

std::vector<probes::PeerClockResult> ProbeClocks(const TimestampLab& lab,
                                                 const std::vector<net::IpAddress>& peers) {
  std::vector<probes::PeerClockResult> r;
  RunInNetns(lab.Netns("a"), [&] {
    SystemClock clock;
    probes::PeerClockOptions opts;
    opts.timeout = 500ms;
    r = probes::RunPeerClockProbe(peers, opts, clock);
  });
  return r;
}

// Drops CAP_NET_RAW from this thread's effective set (capabilities are per thread).
void DropNetRawOnThisThread() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) {
    throw std::runtime_error(net::ErrnoText("capget", errno));
  }
  data[CAP_NET_RAW / 32].effective &= ~(1U << (CAP_NET_RAW % 32));
  if (::syscall(SYS_capset, &header, data) != 0) {
    throw std::runtime_error(net::ErrnoText("capset", errno));
  }
}

TEST_CASE("clock: ICMP timestamps of a Linux peer and of a responder 1.5 s ahead",
          "[integration][clock]") {
  TimestampLab lab;
  SkewedTimestampResponder responder(lab.Netns("c"), 1500ms);
  REQUIRE(responder.error().empty());
  std::vector<probes::PeerClockResult> r;
  const bool answered = PollUntil(15s, [&] {
    r = ProbeClocks(lab, {kLinuxPeer, kSkewedPeer});
    return r[0].offset_seconds && r[1].offset_seconds;
  });
  INFO("b: " << r[0].reason << "; c: " << r[1].reason);
  REQUIRE(answered);
  INFO("offsets " << *r[0].offset_seconds << " and " << *r[1].offset_seconds);
  CHECK(r[0].probed);
  CHECK(r[0].sent == 3);
  CHECK(r[0].received == 3);
  CHECK(std::abs(*r[0].offset_seconds) < 0.010);
  CHECK(*r[1].offset_seconds == Approx(1.5).margin(0.010));
  CHECK(*r[0].rtt_seconds < 0.010);
  CHECK(r[0].reason.empty());
  CHECK(r[1].reason.empty());
  CHECK(responder.answered() >= 3);

  SECTION("through the round's entry point, with an IPv6 and a silent peer") {
    std::optional<probes::ClockRoundResult> round;
    RunInNetns(lab.Netns("a"), [&] {
      SystemClock clock;
      probes::ClockRoundOptions opts;
      opts.chrony_enabled = false;
      opts.timeout = 500ms;
      round = probes::RunClockRound(opts,
                                    {kLinuxPeer, kSkewedPeer, *net::IpAddress::Parse("fd00::1"),
                                     *net::IpAddress::Parse("10.96.1.9")},
                                    clock);
    });
    REQUIRE(round->peers.size() == 4);
    CHECK(std::abs(*round->peers[0].offset_seconds) < 0.010);
    CHECK(*round->peers[1].offset_seconds == Approx(1.5).margin(0.010));
    CHECK_FALSE(round->peers[2].probed);
    CHECK(round->peers[2].reason == "ICMP timestamps exist only in IPv4");
    CHECK(round->peers[3].probed);
    CHECK_FALSE(round->peers[3].offset_seconds.has_value());
    CHECK(round->peers[3].reason == "no timestamp reply within 500ms");
  }
  SECTION("without CAP_NET_RAW every IPv4 peer is unprobed with the reason") {
    std::vector<probes::PeerClockResult> unprobed;
    RunInNetns(lab.Netns("a"), [&] {
      DropNetRawOnThisThread();
      SystemClock clock;
      unprobed = probes::RunPeerClockProbe({kLinuxPeer}, probes::PeerClockOptions{}, clock);
    });
    REQUIRE(unprobed.size() == 1);
    CHECK_FALSE(unprobed[0].probed);
    CHECK(unprobed[0].reason == "raw socket (needs CAP_NET_RAW): Operation not permitted");
  }
}

}  // namespace
}  // namespace cbe::testing
