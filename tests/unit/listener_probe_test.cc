// The listener probe: /proc/net/tcp{,6} parsed, and the processes that hold a listening socket
// found in a /proc tree made by the test (pids, fd links, comm).

#include "probes/listener_probe.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace cbe::probes {
namespace {

namespace fs = std::filesystem;

// /proc/net/tcp as Linux prints it: BIRD on 0.0.0.0:179 (inode 31337), an SSH server, an
// established session to a peer's 179.
constexpr std::string_view kProcNetTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 00000000:00B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "31337 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1234 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0500630A:9C41 0100630A:00B3 01 00000000:00000000 02:000A7E3B 00000000     0        0 "
    "5555 2 0000000000000000 20 4 30 10 -1\n";

TEST_CASE("listener: /proc/net/tcp entries, states and inodes", "[unit]") {
  const ProcNetTcp table = ParseProcNetTcp(kProcNetTcp);
  CHECK(table.malformed_lines == 0);
  REQUIRE(table.entries.size() == 3);
  CHECK(table.entries[0].local_port == 179);
  CHECK(table.entries[0].inode == 31337);
  CHECK(HasListener(table, 179));
  CHECK_FALSE(HasListener(table, 1179));
  CHECK(ListenerInodes(table, 179) == std::vector<std::uint64_t>{31337});
  CHECK(ListenerInodes(table, 22) == std::vector<std::uint64_t>{1234});
  // The established session's local port is not a listener.
  CHECK(ListenerInodes(table, 0x9C41).empty());
  const ProcNetTcp cut = ParseProcNetTcp(
      "header\n   0: 00000000:00B3 00000000:0000 0A 00000000:00000000 00:00000000\n");
  CHECK(cut.malformed_lines == 1);
  CHECK(cut.entries.empty());
}

// A /proc tree under a temporary folder: processes with a comm and fd links.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/cbe-proc-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "net");
  }
  ~FakeProc() { fs::remove_all(root_); }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  void Process(int pid, const std::string& comm, const std::vector<std::string>& fds) {
    const fs::path dir = root_ / std::to_string(pid);
    fs::create_directories(dir / "fd");
    std::ofstream(dir / "comm") << comm << "\n";
    for (std::size_t i = 0; i < fds.size(); ++i) {
      fs::create_symlink(fds[i], dir / "fd" / std::to_string(i + 3));
    }
  }
  void Write(const std::string& name, std::string_view text) {
    std::ofstream(root_ / name) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

TEST_CASE("listener: the processes that hold the listening socket", "[unit]") {
  FakeProc proc;
  proc.Process(17, "bird", {"/dev/null", "socket:[31337]", "socket:[999]"});
  proc.Process(4242, "gobgpd", {"socket:[31337]"});
  proc.Process(5000, "sshd", {"socket:[1234]", "pipe:[77]"});
  proc.Write("self", "not a process");  // Not a pid: skipped.
  const auto holders = FindSocketHolders({31337}, proc.root());
  REQUIRE(holders.size() == 2);
  CHECK(holders[0].pid == 17);
  CHECK(holders[0].command == "bird");
  CHECK(DescribeHolders(holders) == "bird (pid 17), gobgpd (pid 4242)");
  CHECK(FindSocketHolders({}, proc.root()).empty());
  CHECK(FindSocketHolders({31337}, proc.root() + "/missing").empty());
  CHECK(DescribeHolders({}).empty());
}

TEST_CASE("listener: the probe reads both tables and finds holders only when asked", "[unit]") {
  FakeProc proc;
  proc.Write("net/tcp", kProcNetTcp);
  proc.Process(4242, "gobgpd", {"socket:[31337]"});
  const ListenerResult quick = ProbeListener(179, proc.root());
  CHECK(quick.ipv4_known);
  CHECK(quick.ipv4);
  CHECK_FALSE(quick.ipv6_known);  // No tcp6 table in this tree.
  CHECK(quick.error == "cannot read " + proc.root() + "/net/tcp6");
  CHECK(quick.ipv4_inodes == std::vector<std::uint64_t>{31337});
  CHECK(quick.ipv6_inodes.empty());
  CHECK_FALSE(quick.ipv4_holders.has_value());
  const ListenerResult full = ProbeListener(179, proc.root(), true);
  REQUIRE(full.ipv4_holders.has_value());
  CHECK(DescribeHolders(*full.ipv4_holders) == "gobgpd (pid 4242)");
  REQUIRE(full.ipv6_holders.has_value());
  CHECK(full.ipv6_holders->empty());
}

}  // namespace
}  // namespace cbe::probes
