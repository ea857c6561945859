#include "exporter/daemon/privileges.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace cbe {
namespace {

TEST_CASE("NeededCapabilities: CAP_NET_RAW, and CAP_NET_BIND_SERVICE below port 1024", "[unit]") {
  CHECK(NeededCapabilities(10179) == std::vector<cap_value_t>{CAP_NET_RAW});
  CHECK(NeededCapabilities(0) == std::vector<cap_value_t>{CAP_NET_RAW});
  CHECK(NeededCapabilities(443) == std::vector<cap_value_t>{CAP_NET_RAW, CAP_NET_BIND_SERVICE});
  CHECK(NeededCapabilities(1023) == std::vector<cap_value_t>{CAP_NET_RAW, CAP_NET_BIND_SERVICE});
  CHECK(NeededCapabilities(1024) == std::vector<cap_value_t>{CAP_NET_RAW});
}

TEST_CASE("CapabilityNames", "[unit]") {
  CHECK(CapabilityNames(0) == "none");
  CHECK(CapabilityNames(1ULL << CAP_NET_RAW) == "cap_net_raw");
  CHECK(CapabilityNames((1ULL << CAP_NET_RAW) | (1ULL << CAP_NET_BIND_SERVICE)) ==
        "cap_net_bind_service,cap_net_raw");
}

// Runs `f` in a child process (capabilities cannot come back) and returns its output.
template <typename F>
std::string InChild(F f) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    const std::string out = f();
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child output: " << out);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

TEST_CASE("DropCapabilities keeps only CAP_NET_RAW", "[unit]") {
  const std::string out = InChild([] {
    auto r = DropCapabilities({CAP_NET_RAW});
    if (!r) {
      return "error: " + r.error().message;
    }
    std::string s = r->after + "|" + r->kept;
    s += cap_get_bound(CAP_SYS_ADMIN) == 0 ? "|bnd-ok" : "|bnd-has-sys-admin";
    s += cap_get_bound(CAP_NET_RAW) == 1 ? "|raw-bnd" : "|no-raw-bnd";
    return s;
  });
  if (geteuid() == 0) {
    CHECK(out == "cap_net_raw=ep|cap_net_raw|bnd-ok|raw-bnd");
  } else {
    // Without privileges there is nothing to keep: no error, and no capability left.
    CHECK(out.find("|none|") != std::string::npos);
  }
}

TEST_CASE("DropCapabilities refuses to run once threads exist", "[unit]") {
  const std::string out = InChild([] {
    std::thread t([] { pause(); });
    t.detach();
    auto r = DropCapabilities({CAP_NET_RAW});
    return r ? std::string("dropped") : r.error().message;
  });
  CHECK(out == "capabilities must be dropped before any thread starts (the process has 2 threads)");
}

}  // namespace
}  // namespace cbe
