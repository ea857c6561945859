// Fault injection: the real exporter binary against a scripted fake BIRD (tests/fake_bird.py), each
// case in a network namespace of its own (loopback only), asserting through GET /metrics.
// Every wait polls with a deadline; namespaces, processes and files are cleaned up even when an
// assertion fails. Needs root (ip netns).
//
// Compile definitions: CBE_SOURCE_DIR and CBE_EXPORTER_PATH, as for tests/integration (lab.h).

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/lab.h"

extern char** environ;

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Labels = std::map<std::string, std::string>;

// An exporter built with ASan/UBSan (CBE_SANITIZE) is several times slower and its RSS grows
// with ASan's quarantine: the load and soak cases then check errors and leaks, not latency or
// RSS (LeakSanitizer reports leaks at exit instead).
#ifdef CBE_SANITIZED_EXPORTER
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Each case has its own namespace, so a fixed port cannot collide.
constexpr int kExporterPort = 9844;
constexpr milliseconds kReadyDeadline = 15s;
// The exporter's civetweb worker threads (exporter/web/web_server.h kWebThreads).
constexpr int kWebThreads = 8;

std::atomic<int> counter{0};

std::string Fixture(const std::string& relative) {
  return SourceDir() + "/tests/fixtures/" + relative;
}

double Ms(steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
      throw std::runtime_error("cannot write " + tmp);
    }
  }
  std::filesystem::rename(tmp, path);
}

// A scratch directory under /tmp, removed at the end unless CBE_KEEP_LAB_DIR=1.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = "/tmp/cbe-faults-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    path_ = templ;
  }
  ~ScratchDir() {
    const char* keep = std::getenv("CBE_KEEP_LAB_DIR");
    if (keep == nullptr || std::string(keep) != "1") {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A network namespace with only its loopback up.
class Netns {
 public:
  Netns() : name_("cbeflt" + std::to_string(::getpid()) + "n" + std::to_string(++counter)) {
    RunCommand({"ip", "netns", "del", name_});  // A leftover of an earlier process.
    Check(RunCommand({"ip", "netns", "add", name_}), "ip netns add");
    Check(RunCommand({"ip", "-n", name_, "link", "set", "lo", "up"}), "ip link set lo up");
  }
  ~Netns() {
    try {
      RunCommand({"ip", "netns", "del", name_});
    } catch (...) {
    }
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  const std::string& name() const { return name_; }

 private:
  static void Check(const CommandResult& r, const std::string& what) {
    if (r.exit_code != 0) {
      throw std::runtime_error(what + " failed: " + r.out + r.err);
    }
  }
  std::string name_;
};

// A child process with stdout and stderr to a file; killed with SIGKILL when destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_file) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
  }
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Sends `sig` and reaps the process.
  void Kill(int sig) {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, sig);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

struct FakeOptions {
  std::string flavour = "bird1";  // Which recorded replies: tests/fixtures/<flavour>/.
  int scale = 0;                  // > 0: that many BGP protocols.
  std::string mode = "good";      // See tests/fake_bird.py.
};
FakeOptions FakeMode(std::string mode) { return {"bird1", 0, std::move(mode)}; }
FakeOptions FakeScale(int scale) { return {"bird1", scale, "good"}; }
FakeOptions FakeFlavour(std::string flavour) { return {std::move(flavour), 0, "good"}; }

// tests/fake_bird.py serving `socket`; its mode can be changed while it runs.
class FakeBird {
 public:
  FakeBird(const ScratchDir& dir, const std::string& socket, const std::string& name,
           const FakeOptions& o)
      : mode_file_(dir.File(name + ".mode")),
        stats_file_(dir.File(name + ".stats")),
        log_file_(dir.File(name + ".log")) {
    SetMode(o.mode);
    const bool bird2 = o.flavour == "bird2";
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        SourceDir() + "/tests/fake_bird.py",
        "serve",
        "--socket=" + socket,
        "--status=" + Fixture(o.flavour + "/show_status__all_states.raw"),
        "--protocols=" + Fixture(o.flavour + "/show_protocols_all__all_states.raw"),
        "--greeting=" + std::string(bird2 ? "BIRD 2.0.12" : "BIRD 1.6.8"),
        "--mode-file=" + mode_file_,
        "--stats=" + stats_file_,
    };
    if (o.scale > 0) {
      argv.push_back("--scale=" + std::to_string(o.scale));
    }
    child_ = std::make_unique<Child>(argv, log_file_);
    if (!PollUntil(20s, [&] { return Stat("listening") > 0; })) {
      throw std::runtime_error("fake BIRD did not start listening on " + socket + ":\n" +
                               ReadFile(log_file_));
    }
  }

  void SetMode(const std::string& mode) { WriteFileAtomically(mode_file_, mode + "\n"); }
  // SIGKILL, like a crashed BIRD: the socket file stays behind.
  void Kill() { child_->Kill(SIGKILL); }

  // A counter of the stats file (connections, commands, show_status, ...); 0 when absent.
  long Stat(const std::string& name) const {
    std::istringstream in(ReadFile(stats_file_));
    std::string key;
    long value = 0;
    while (in >> key >> value) {
      if (key == name) {
        return value;
      }
    }
    return 0;
  }
  std::string Stats() const { return ReadFile(stats_file_) + ReadFile(log_file_); }

 private:
  std::string mode_file_;
  std::string stats_file_;
  std::string log_file_;
  std::unique_ptr<Child> child_;
};

struct ExporterOptions {
  std::string interval;
  std::string timeout;
  std::optional<std::size_t> max_reply_bytes;
};
ExporterOptions Rounds(std::string interval, std::string timeout,
                       std::optional<std::size_t> max_reply_bytes = std::nullopt) {
  return {std::move(interval), std::move(timeout), max_reply_bytes};
}

std::string WriteConfig(const ScratchDir& dir, const std::string& socket,
                        const ExporterOptions& o) {
  std::string yaml = "bird:\n  sockets: [" + socket + "]\n  interval: " + o.interval +
                     "\n  timeout: " + o.timeout + "\n";
  if (o.max_reply_bytes) {
    yaml += "  max_reply_bytes: " + std::to_string(*o.max_reply_bytes) + "\n";
  }
  yaml +=
      "probes: {tcp: {enabled: false}, icmp: {enabled: false}, mtu: {enabled: false}, "
      "listener: {enabled: false}}\n";
  const std::string path = dir.File("exporter.yml");
  WriteFileAtomically(path, yaml);
  return path;
}

struct ScrapeResult {
  bool ok = false;
  int status = 0;
  std::string body;  // Or the error.
  steady_clock::duration took{};
};

ScrapeResult Scrape(const ExporterProcess& e, milliseconds timeout = 5s) {
  ScrapeResult r;
  const auto start = steady_clock::now();
  try {
    HttpResponse resp = HttpRequest(e.Netns(), "127.0.0.1", e.Port(), "/metrics", timeout);
    r.status = resp.status;
    r.ok = resp.status == 200;
    r.body = std::move(resp.body);
  } catch (const std::exception& ex) {
    r.body = std::string("(scrape failed: ") + ex.what() + ")";
  }
  r.took = steady_clock::now() - start;
  return r;
}

long ProcStatusKb(pid_t pid, const std::string& field) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

long OpenFds(pid_t pid) {
  std::error_code ec;
  long n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// One fault scenario: scratch directory, namespace, fake BIRD and exporter.
class Scenario {
 public:
  Scenario(const FakeOptions& fake, const ExporterOptions& exporter)
      : socket_(dir_.File("bird.ctl")),
        fake_(std::make_unique<FakeBird>(dir_, socket_, "fake", fake)),
        exporter_(std::make_unique<ExporterProcess>(netns_.name(),
                                                    WriteConfig(dir_, socket_, exporter),
                                                    kExporterPort, dir_.File("exporter.log"))) {
    Require(exporter_->WaitReady(kReadyDeadline), "the exporter answers GET /metrics");
  }

  ScratchDir& dir() { return dir_; }
  const std::string& socket() const { return socket_; }
  FakeBird& fake() { return *fake_; }
  void ReplaceFake(std::unique_ptr<FakeBird> fake) { fake_ = std::move(fake); }
  ExporterProcess& exporter() { return *exporter_; }
  const ScrapeResult& last() const { return last_; }
  std::string Log() const { return ReadFile(exporter_->LogFile()); }

  const ScrapeResult& DoScrape(milliseconds timeout = 5s) {
    last_ = Scrape(*exporter_, timeout);
    return last_;
  }

  std::optional<double> Value(const std::string& name, const Labels& labels) {
    if (!last_.ok) {
      return std::nullopt;
    }
    return MetricValue(last_.body, name, labels);
  }

  bool WaitForValue(const std::string& name, const Labels& labels, double want,
                    milliseconds deadline) {
    return PollUntil(deadline, [&] {
      DoScrape();
      const auto v = Value(name, labels);
      return v.has_value() && *v == want;
    });
  }

  // Fails the test case with what was expected, the last scrape, the exporter's log and the
  // fake's counters.
  void Require(bool ok, const std::string& what, const std::string& needle = "calico_bgp_bird") {
    if (ok) {
      SUCCEED(what);
      return;
    }
    std::ostringstream m;
    m << "expected: " << what << "\n--- last /metrics lines containing '" << needle << "' ("
      << (last_.ok ? "ok" : "FAILED") << ", " << Ms(last_.took) << " ms):\n"
      << (last_.ok ? GrepLines(last_.body, needle) : last_.body) << "--- exporter log, process "
      << (exporter_->Running() ? "running" : "EXITED") << ":\n"
      << exporter_->LogTail(4000) << "\n--- fake BIRD:\n"
      << fake_->Stats();
    FAIL(m.str());
  }

  void RequireValue(const std::string& name, const Labels& labels, double want,
                    milliseconds deadline) {
    std::ostringstream what;
    what << name << " == " << want << " within " << deadline.count() << " ms";
    Require(WaitForValue(name, labels, want, deadline), what.str(), name);
  }

  void RequireLog(const std::string& needle, milliseconds deadline = 5s) {
    Require(PollUntil(deadline, [&] { return Log().find(needle) != std::string::npos; }),
            "the exporter log says \"" + needle + "\"");
  }

 private:
  ScratchDir dir_;
  Netns netns_;
  std::string socket_;
  std::unique_ptr<FakeBird> fake_;
  std::unique_ptr<ExporterProcess> exporter_;
  ScrapeResult last_;
};

const Labels kBird = {{"daemon", "bird"}};

// Scrapes back to back for `duration`; returns the slowest (and fails on any error).
steady_clock::duration ScrapeFor(Scenario& s, milliseconds duration, int* count) {
  steady_clock::duration slowest{};
  const auto end = steady_clock::now() + duration;
  *count = 0;
  while (steady_clock::now() < end) {
    const ScrapeResult& r = s.DoScrape();
    s.Require(r.ok, "every scrape answers 200");
    slowest = std::max(slowest, r.took);
    ++*count;
  }
  return slowest;
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("BIRD accepts the connection and never answers", "[integration][faults]") {
  // hang: greets, then never answers `restrict`; mute: never even greets.
  const std::string mode = GENERATE(as<std::string>{}, "hang", "mute");
  Scenario s(FakeMode(mode), Rounds("500ms", "300ms"));
  INFO("fake mode " << mode);

  // One timeout plus one interval, with slack for a loaded machine.
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 3s);
  s.RequireLog("deadline exceeded");
  s.Require(s.Value("calico_bgp_probe_success", {{"probe", "bird"}}) == 0.0,
            "calico_bgp_probe_success{probe=\"bird\"} 0");

  // Scrapes stay fast while rounds hang (each round waits 300 ms of every 500 ms).
  int scrapes = 0;
  const auto slowest = ScrapeFor(s, 1500ms, &scrapes);
  WARN("BIRD " << mode << ": " << scrapes << " scrapes in 1.5 s, slowest " << Ms(slowest) << " ms");
  s.Require(slowest < 100ms, "every scrape under 100 ms while BIRD hangs (slowest " +
                                 std::to_string(Ms(slowest)) + " ms)");

  // Rounds go on, each on a fresh connection, and leak no descriptor.
  const pid_t pid = s.exporter().Pid();
  const long connections = s.fake().Stat("connections");
  const long fds = OpenFds(pid);
  s.Require(PollUntil(5s, [&] { return s.fake().Stat("connections") >= connections + 4; }),
            "4 more rounds, each on a new connection");
  s.Require(OpenFds(pid) <= fds + 1, "no descriptor leaked (" + std::to_string(fds) + " -> " +
                                         std::to_string(OpenFds(pid)) + ")");
}

TEST_CASE("BIRD answers half a reply and closes", "[integration][faults]") {
  Scenario s(FakeMode("half"), Rounds("500ms", "500ms"));
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 3s);
  s.RequireLog("connection closed in the middle of a reply");

  s.fake().SetMode("good");
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 3s);
  s.RequireValue("calico_bgp_peer_up", {{"protocol", "Mesh_10_99_0_1"}}, 1, 3s);

  // And down again: no stale peers are served as if BIRD had answered.
  s.fake().SetMode("half");
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 3s);
  s.Require(!s.Value("calico_bgp_peer_up", {{"protocol", "Mesh_10_99_0_1"}}).has_value(),
            "no calico_bgp_peer_up series while BIRD's replies are cut", "calico_bgp_peer_up");
}

TEST_CASE("a reply larger than bird.max_reply_bytes", "[integration][faults]") {
  constexpr std::size_t kCap = 64 * 1024;
  constexpr long kReplyKb = 4096;
  Scenario s(FakeMode("good"), Rounds("500ms", "500ms", kCap));
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 3s);
  // The peak RSS with ordinary replies, then three rounds of 4 MiB replies: refused at the cap,
  // never buffered whole, they must not raise the peak by anything like their size.
  const long peak_before_kb = ProcStatusKb(s.exporter().Pid(), "VmHWM");
  s.fake().SetMode("big 4194304");
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 3s);
  s.RequireLog("larger than the cap");
  const long replies = s.fake().Stat("show_protocols");
  s.Require(PollUntil(10s, [&] { return s.fake().Stat("show_protocols") >= replies + 3; }),
            "three more rounds of 4 MiB replies", "show_protocols");
  const long peak_after_kb = ProcStatusKb(s.exporter().Pid(), "VmHWM");
  INFO("peak RSS " << peak_before_kb << " kB -> " << peak_after_kb << " kB");
  CHECK(peak_after_kb - peak_before_kb < kReplyKb / 2);

  s.fake().SetMode("good");
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 3s);
}

TEST_CASE("BIRD answers slowly", "[integration][faults]") {
  // 64-byte pieces 5 ms apart: `show protocols all` (10 kB) takes ~0.8 s, within the timeout.
  Scenario s(FakeMode("slow 0.005"), Rounds("1500ms", "1500ms"));
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 10s);
  const auto duration = s.Value("calico_bgp_probe_duration_seconds", {{"probe", "bird"}});
  s.Require(duration.has_value() && *duration > 0.5,
            "a round that assembled the replies from many partial reads (> 0.5 s)",
            "calico_bgp_probe_duration");

  // A trickle too slow for the deadline (~8 s for the reply): the round gives up on time.
  s.fake().SetMode("slow 0.05");
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 8s);
  s.RequireLog("deadline exceeded");
  const auto slow = s.Value("calico_bgp_probe_duration_seconds", {{"probe", "bird"}});
  // Connect, show status and show protocols have a deadline each.
  s.Require(slow.has_value() && *slow < 3 * 1.5 + 0.5, "the round ends within its deadlines",
            "calico_bgp_probe_duration");
}

TEST_CASE("the socket file is replaced while the exporter runs", "[integration][faults]") {
  Scenario s(FakeFlavour("bird1"), Rounds("300ms", "300ms"));
  const Labels bird1 = {{"daemon", "bird"}, {"version", "1.6.8"}};
  const Labels bird2 = {{"daemon", "bird"}, {"version", "2.0.12"}};
  s.RequireValue("calico_bgp_bird_info", bird1, 1, 3s);

  // A new BIRD binds a new socket file at the same path; then the old one dies.
  auto replacement = std::make_unique<FakeBird>(s.dir(), s.socket(), "fake2", FakeFlavour("bird2"));
  s.fake().Kill();
  s.ReplaceFake(std::move(replacement));
  s.RequireValue("calico_bgp_bird_info", bird2, 1, 3s);
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 3s);

  // Killed: the socket file stays (connection refused); removed (no such file); back.
  s.fake().Kill();
  s.RequireValue("calico_bgp_bird_up", kBird, 0, 3s);
  s.RequireLog("Connection refused");
  std::filesystem::remove(s.socket());
  s.RequireLog("No such file or directory");
  s.ReplaceFake(std::make_unique<FakeBird>(s.dir(), s.socket(), "fake3", FakeFlavour("bird1")));
  s.RequireValue("calico_bgp_bird_info", bird1, 1, 3s);
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 3s);
}

TEST_CASE("SIGTERM during a hanging round exits cleanly within 1 s", "[integration][faults]") {
  // The default interval and timeout: a round that hangs lasts 2 s.
  Scenario s(FakeMode("hang"), Rounds("5s", "2s"));
  s.Require(PollUntil(5s, [&] { return s.fake().Stat("connections") >= 1; }),
            "the exporter is connected to the hanging BIRD");
  const pid_t pid = s.exporter().Pid();
  const auto start = steady_clock::now();
  ::kill(pid, SIGTERM);
  // Polls every 5 ms (PollUntil's 100 ms is too coarse to measure this).
  while (s.exporter().Running() && steady_clock::now() - start < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  const auto took = steady_clock::now() - start;
  const bool exited = !s.exporter().Running();
  const int code = s.exporter().Stop();
  WARN("SIGTERM during a hanging round: exit " << code << " after " << Ms(took) << " ms");
  s.Require(exited && took < 1s,
            "exit within 1 s of SIGTERM (took " + std::to_string(Ms(took)) + " ms)");
  s.Require(code == 0, "exit code 0 (got " + std::to_string(code) + ")");
  s.RequireLog("shutting down");
}

// Sockets in the exporter's namespace that send (part of) a request and never read.
class SlowClients {
 public:
  SlowClients(const std::string& netns, int port, int n, const std::string& request) {
    RunInNetns(netns, [&] {
      for (int i = 0; i < n; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
          throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        }
        fds_.push_back(fd);
        const int small = 4096;  // The server's writes block as soon as possible.
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
          throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        }
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
          throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        }
      }
    });
  }
  ~SlowClients() {
    for (int fd : fds_) {
      ::close(fd);
    }
  }
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

 private:
  std::vector<int> fds_;
};

TEST_CASE("clients that never read do not block other scrapes", "[integration][faults]") {
  constexpr int kSlowClients = kWebThreads * 3 / 4;
  // 6 such clients, each holding a connection and one of the exporter's 8 HTTP worker threads
  // (civetweb serves a connection on one thread; more such clients than threads stall other
  // scrapes until request_timeout_ms, README "HTTP"). Nothing they hold may block the others,
  // e.g. the exposition cache's lock while a response is written:
  // - complete requests whose responses are never read. With 10,000 protocols /metrics
  //   (~10 MB) is larger than what the kernel buffers of a connection absorb, so the server's
  //   writes block;
  // - requests whose header never ends (slowloris), with an ordinary /metrics.
  const bool never_read = GENERATE(true, false);
  const std::string request =
      never_read ? "GET /metrics HTTP/1.0\r\n\r\n" : "GET /metrics HTTP/1.0\r\nHost: x\r\n";
  const std::string kind = never_read ? "never-reading" : "never-finishing";
  INFO(kind << " clients");
  Scenario s(never_read ? FakeScale(10000) : FakeMode("good"), Rounds("5s", "5s"));
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 20s);
  if (never_read) {
    const auto sample = s.DoScrape(10s);
    const auto peers = FindSamples(sample.body, "calico_bgp_peer_up", {}).size();
    WARN("10,000 protocols: /metrics " << sample.body.size() << " bytes in " << Ms(sample.took)
                                       << " ms, " << peers << " peers");
    s.Require(peers == 10000,
              "10,000 calico_bgp_peer_up series (got " + std::to_string(peers) + ")",
              "calico_bgp_peer_up{");
  }

  SlowClients slow(s.exporter().Netns(), s.exporter().Port(), kSlowClients, request);
  for (int i = 0; i < 3; ++i) {
    const ScrapeResult& r = s.DoScrape(3s);
    WARN(kSlowClients << " " << kind << " clients: scrape " << i << " " << (r.ok ? "ok" : r.body)
                      << " in " << Ms(r.took) << " ms");
    s.Require(r.ok && r.took < 2s, std::to_string(kSlowClients) + " " + kind +
                                       " clients: another scrape still answers within 2 s");
  }
}

TEST_CASE("100 concurrent scrapers for 10 s", "[integration][faults]") {
  Scenario s(FakeScale(1000), Rounds("1s", "1s"));
  s.RequireValue("calico_bgp_bird_up", kBird, 1, 10s);

  constexpr int kScrapers = 100;
  constexpr auto kDuration = 10s;
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<std::string> errors;
  const auto end = steady_clock::now() + kDuration;
  std::vector<std::thread> threads;
  for (int i = 0; i < kScrapers; ++i) {
    threads.emplace_back([&] {
      while (steady_clock::now() < end) {
        ScrapeResult r = Scrape(s.exporter(), kSanitized ? 60s : 15s);
        const bool complete =
            r.ok && r.body.find("calico_bgp_bird_up{daemon=\"bird\"} 1") != std::string::npos;
        std::lock_guard lock(mu);
        latencies_ms.push_back(Ms(r.took));
        if (!complete) {
          errors.push_back(r.ok ? "incomplete body" : r.body.substr(0, 200));
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto pct = [&](double p) {
    return latencies_ms[static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size() - 1))];
  };
  REQUIRE(!latencies_ms.empty());
  WARN(kScrapers << " scrapers x 10 s, /metrics of 1000 peers: " << latencies_ms.size()
                 << " scrapes, " << errors.size() << " errors; latency ms p50 " << pct(0.5)
                 << " p90 " << pct(0.9) << " p99 " << pct(0.99) << " max " << latencies_ms.back());
  s.Require(errors.empty(), std::to_string(errors.size()) + " failed scrapes, first: " +
                                (errors.empty() ? "" : errors.front()));
  s.Require(kSanitized || latencies_ms.back() < 10000, "every scrape within 10 s");
  s.Require(s.exporter().Running(), "the exporter survived");
}

// The least-squares slope of y over x.
double Slope(const std::vector<std::pair<double, double>>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

TEST_CASE("a soak of 10000 fast rounds keeps RSS flat", "[integration][faults]") {
  // Every 100th command is cut, so the reconnect and error paths soak too.
  Scenario s(FakeMode("flaky 100"), Rounds("10ms", "10ms"));
  const pid_t pid = s.exporter().Pid();
  constexpr long kWarmup = 1000;
  constexpr long kRounds = 10000;
  // Scrapes every ~100 ms meanwhile, so the collector soaks as well.
  s.Require(PollUntil(60s,
                      [&] {
                        s.DoScrape();
                        return s.fake().Stat("show_status") >= kWarmup;
                      }),
            "1,000 warm-up rounds");
  const long rss_warm = ProcStatusKb(pid, "VmRSS");
  const long fds_warm = OpenFds(pid);
  const auto start = steady_clock::now();
  long scrapes = 0;
  // (round, VmRSS) at every scrape: ~1,000 samples. Their least-squares slope tells a growth
  // from the noise of one sample (malloc's arenas, a scrape's buffers): a leak of 100 bytes per
  // round is 0.9 MB over the 9,000 rounds, far above what the slope's noise can fake.
  std::vector<std::pair<double, double>> samples;
  s.Require(PollUntil(180s,
                      [&] {
                        s.Require(s.DoScrape().ok, "scrapes answer during the soak");
                        ++scrapes;
                        const long round = s.fake().Stat("show_status");
                        samples.emplace_back(static_cast<double>(round),
                                             static_cast<double>(ProcStatusKb(pid, "VmRSS")));
                        return round >= kRounds;
                      }),
            "10,000 rounds");
  const long rss_end = ProcStatusKb(pid, "VmRSS");
  const long fds_end = OpenFds(pid);
  const double slope = Slope(samples);  // kB per round.
  const double span = samples.back().first - samples.front().first;
  WARN("soak: " << s.fake().Stat("show_status") << " rounds (" << s.fake().Stat("replies_cut")
                << " replies cut), " << scrapes << " scrapes in "
                << Ms(steady_clock::now() - start) / 1000 << " s; VmRSS " << rss_warm
                << " kB after warm-up, " << rss_end << " kB at the end; slope over "
                << samples.size() << " samples " << slope * 1000 << " kB per 1,000 rounds ("
                << slope * span << " kB over the soak); fds " << fds_warm << " -> " << fds_end);
  s.Require(kSanitized || (samples.size() >= 100 && slope * span < 512),
            "VmRSS flat after warm-up: the trend over " + std::to_string(samples.size()) +
                " samples is " + std::to_string(static_cast<long>(slope * span)) +
                " kB over the soak (" + std::to_string(rss_warm) + " -> " +
                std::to_string(rss_end) + " kB); at most 512 kB");
  s.Require(fds_end <= fds_warm + 1, "no descriptor leaked");
  // A clean exit: with CBE_SANITIZE, LeakSanitizer checks the heap now (exit code 23 on leaks).
  const int code = s.exporter().Stop();
  s.Require(code == 0, "exit code 0 after SIGTERM (got " + std::to_string(code) + ")");
  s.Require(s.Log().find("Sanitizer") == std::string::npos, "no sanitizer report in the log");
}

}  // namespace
}  // namespace cbe::testing
