#pragma once

// Helpers for the integration tests: a BIRD lab in network namespaces (lab.sh), the exporter
// under test started inside a namespace, an HTTP client that connects from inside a
// namespace, a tiny Prometheus text-format parser and a polling helper.
//
// Compile definitions: CBE_SOURCE_DIR (repository root, string literal) and CBE_EXPORTER_PATH
// (the exporter binary, string literal). Needs root (namespaces, setns).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cbe::testing {

// The BIRDs a lab runs (lab.sh's V in parentheses):
//   kBird1       Debian's BIRD 1.6.8, bird + bird6, hand-written Calico-style configs (1)
//   kBird2       Debian's BIRD 2.0.12, one daemon (2)
//   kCalicoFork  Calico's fork v0.3.3+birdv1.6.8, bird + bird6, configs as confd renders
//                them (fork)
//   kBird3       BIRD 3.3.0, one daemon, configs as Calico's BIRD 3 migration renders them,
//                `timeformat protocol "%F"` (3)
enum class BirdFlavour { kBird1, kBird2, kCalicoFork, kBird3 };

// "BIRD 1.6", "BIRD 2", "Calico's fork" or "BIRD 3".
std::string FlavourName(BirdFlavour flavour);
// lab.sh's flavour argument: "1", "2", "fork", "3".
std::string FlavourArg(BirdFlavour flavour);
// BIRD 1.6 and the fork: a bird6 daemon with its own socket next to bird.
bool HasBird6(BirdFlavour flavour);
// The fork and BIRD 3: configs rendered by calico_birdcfg.py from configs/calico/lab.json;
// nodes d (tcp/179 dropped) and i (eBGP ToR, AS 65009) exist.
bool IsCalicoRendered(BirdFlavour flavour);

struct CommandResult {
  int exit_code = -1;  // exit status, or 128 + signal number
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH when it has no '/') without a shell, captures stdout and
// stderr. Kills the child after `timeout`. Throws std::runtime_error if it cannot be started.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Repository root (CBE_SOURCE_DIR), tests/integration/lab.sh, and the unpacked BIRD 2
// ($CBE_BIRD2_DIR, default build/bird2 relative to the repository root).
std::string SourceDir();
std::string LabScript();
std::string Bird2Dir();
// The folder with a flavour's own `bird` (and `birdcl`): Debian's (1.6), Bird2Dir()/usr/sbin,
// $CBE_CALICO_BIRD_DIR (default build/third_party/calico-bird) or $CBE_BIRD3_DIR (default
// build/third_party/bird3), built by .ci/build-third-party-birds.
std::string BirdBinDir(BirdFlavour flavour);

// One lab: namespaces <prefix>-hub, -a, -b, -c, -e, -f, -g (the fork and BIRD 3: also -d, -i)
// with BIRD running everywhere but c.
// The constructor runs `lab.sh up` with a prefix unique to this process (and to this Lab
// object); the destructor runs `lab.sh down` and removes Dir() unless CBE_KEEP_LAB_DIR=1.
// Every method throws std::runtime_error (with lab.sh's stderr) when lab.sh fails.
// `node` is "a", "b", "c", "e", "f", "g" (+ "d", "i"); `v6` selects the bird6 daemon (BIRD
// 1.6 and the fork only; BIRD 2 and 3 have one daemon for both families).
class Lab {
 public:
  explicit Lab(BirdFlavour flavour);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;
  Lab(Lab&&) = delete;
  Lab& operator=(Lab&&) = delete;

  BirdFlavour Flavour() const { return flavour_; }
  const std::string& Prefix() const { return prefix_; }
  // Absolute directory with <node>/bird.conf (bird.cfg and its includes for the fork and BIRD
  // 3), bird.ctl, bird.log, bird.pid (+ bird6.*).
  const std::string& Dir() const { return dir_; }
  // Namespace name of a node, e.g. "cbe1234n1-a".
  std::string Netns(const std::string& node) const;
  std::string SocketPath(const std::string& node, bool v6 = false) const;
  std::string LogPath(const std::string& node, bool v6 = false) const;
  // The daemon's main config file (bird.conf, or bird.cfg as Calico names it).
  std::string ConfigPath(const std::string& node, bool v6 = false) const;

  void BirdStart(const std::string& node, bool v6 = false);
  // SIGTERM, SIGKILL after 5 s; BIRD removes its socket and pid file.
  void BirdStop(const std::string& node, bool v6 = false);
  // SIGKILL: the control socket file stays behind (connect() then gets ECONNREFUSED).
  void BirdKill(const std::string& node, bool v6 = false);
  // Runs birdc (of the right flavour) with one command, returns its stdout.
  std::string Birdc(const std::string& node, const std::string& command, bool v6 = false);
  // Drops `protocol bgp <name>` from the node's config and runs `birdc configure`.
  void RemoveProtocol(const std::string& node, const std::string& name, bool v6 = false);
  // `show protocols` of every daemon, for failure messages. Never throws.
  std::string Status() const;
  // Writes Dir()/<name> and returns its path.
  std::string WriteFile(const std::string& name, const std::string& content) const;

 private:
  CommandResult RunLab(const std::vector<std::string>& args) const;
  std::string Spec(const std::string& node, bool v6) const;

  BirdFlavour flavour_;
  std::string prefix_;
  std::string dir_;
};

// The exporter (CBE_EXPORTER_PATH) started as
//   ip netns exec <netns> <exporter> --config.file=<config_file>
//       --web.listen-address=127.0.0.1:<port> --log.level=debug <extra_args...>
// with stdout and stderr to `log_file`. The destructor stops it (SIGTERM, SIGKILL after 5 s).
class ExporterProcess {
 public:
  // `wrapper` runs the exporter through another program inside the namespace, e.g. setpriv to
  // drop privileges.
  ExporterProcess(std::string netns, const std::string& config_file, int port, std::string log_file,
                  const std::vector<std::string>& extra_args = {},
                  const std::vector<std::string>& wrapper = {});
  ~ExporterProcess();
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;
  ExporterProcess(ExporterProcess&&) = delete;
  ExporterProcess& operator=(ExporterProcess&&) = delete;

  pid_t Pid() const { return pid_; }
  int Port() const { return port_; }
  const std::string& Netns() const { return netns_; }
  const std::string& LogFile() const { return log_file_; }
  // False once the process has exited (reaps it).
  bool Running();
  // Polls GET /metrics until it answers 200; false on timeout or if the process exited.
  bool WaitReady(std::chrono::milliseconds deadline);
  // GET <path> from inside the namespace; throws like HttpGet.
  std::string Get(const std::string& path = "/metrics") const;
  // The last `max_bytes` of the log file (for failure messages).
  std::string LogTail(std::size_t max_bytes = 6000) const;
  // SIGTERM, then SIGKILL after `grace`; returns the exit code (128 + signal if killed).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  std::string netns_;
  int port_;
  std::string log_file_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

struct HttpResponse {
  int status = 0;
  std::string status_line;
  std::string headers;  // raw header block without the status line
  std::string body;
};

// Connects to host:port (numeric IPv4/IPv6) from inside network namespace `netns`
// (/var/run/netns/<netns>; "" = this process's namespace) and sends an HTTP/1.0 request.
// Throws std::runtime_error on connect/IO errors or timeout.
HttpResponse HttpRequest(const std::string& netns, const std::string& host, int port,
                         const std::string& path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Like HttpRequest, returns the body, and also throws when the status is not 200.
std::string HttpGet(const std::string& netns, const std::string& host, int port,
                    const std::string& path);

// One sample of the Prometheus text exposition format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses samples; comments, blank and malformed lines are skipped.
std::vector<Sample> ParseExposition(std::string_view exposition);
// Samples named `name` ("" = any name) whose labels include `labels_subset`.
std::vector<Sample> FindSamples(std::string_view exposition, const std::string& name,
                                const std::map<std::string, std::string>& labels_subset);
// Value of the first sample named `name` whose labels include `labels_subset`.
std::optional<double> MetricValue(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels_subset);
// Lines of `text` that contain `needle` (for failure messages).
std::string GrepLines(std::string_view text, std::string_view needle);

// Polls `exporter`'s /metrics until calico_bgp_peer_diagnosis names `cause` for `protocol`.
// False at `deadline`; `*seen` then holds the diagnosis lines of the last scrape (or the error).
bool WaitForCause(const ExporterProcess& exporter, const std::string& protocol,
                  const std::string& cause, std::chrono::milliseconds deadline, std::string* seen);

inline constexpr std::chrono::milliseconds kPollInterval{100};

// Calls pred() every ~100 ms until it returns true (-> true) or `deadline` has passed
// (-> false). pred() is called at least once. Never use a fixed sleep to wait for state.
// The routed lab of netlab.sh (a <-> r <-> z with a 1400-byte link r-z), up and down around a
// test like Lab. `env` is passed to netlab.sh (NETLAB_Z_MTU, NETLAB_A_ROUTES, NETLAB_HOLD).
class NetLab {
 public:
  explicit NetLab(const std::vector<std::string>& env = {});
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  std::string Netns(const std::string& node) const { return prefix_ + "-" + node; }
  std::string Socket(const std::string& node) const { return dir_ + "/" + node + "/bird.ctl"; }
  const std::string& Dir() const { return dir_; }
  // A command inside a node's namespace, e.g. iptables; throws when it fails.
  void Exec(const std::string& node, std::vector<std::string> argv) const;
  void BirdStop(const std::string& node);
  void BirdStart(const std::string& node);

 private:
  void Run(const std::vector<std::string>& args) const;
  std::vector<std::string> env_;
  std::string prefix_;
  std::string dir_;
};

// Runs `fn` on a thread that has entered network namespace `netns`: sockets it creates live
// there. Rethrows what `fn` throws.
void RunInNetns(const std::string& netns, const std::function<void()>& fn);

template <class F>
bool PollUntil(std::chrono::milliseconds deadline, F pred) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (pred()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace cbe::testing
