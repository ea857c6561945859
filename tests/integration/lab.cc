#include "lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#ifndef CBE_SOURCE_DIR
#error "CBE_SOURCE_DIR (the repository root, a string literal) must be defined"
#endif
// CBE_BUILD_DIR (optional): the build folder whose third_party/ holds the BIRDs that
// .ci/build-third-party-birds built; the default of $CBE_CALICO_BIRD_DIR and $CBE_BIRD3_DIR.
#ifndef CBE_EXPORTER_PATH
#error "CBE_EXPORTER_PATH (the exporter binary, a string literal) must be defined"
#endif

extern char** environ;

namespace cbe::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kLabCommandTimeout = std::chrono::seconds(120);

std::atomic<int> lab_counter{0};

std::string ErrnoText(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int Get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

// posix_spawn_file_actions_t with RAII.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;

  posix_spawn_file_actions_t* Get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  pointers.reserve(argv.size() + 1);
  for (const auto& arg : argv) {
    pointers.push_back(const_cast<char*>(arg.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string joined;
  for (const auto& arg : argv) {
    if (!joined.empty()) {
      joined += ' ';
    }
    joined += arg;
  }
  return joined;
}

std::string IpBinary() {
  for (const char* candidate : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(candidate, X_OK) == 0) {
      return candidate;
    }
  }
  return "ip";
}

int RemainingMs(steady_clock::time_point end) {
  const auto left = std::chrono::duration_cast<milliseconds>(end - steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until `fd` is ready for `events` or `end` passes. Throws on timeout.
void WaitFd(int fd, short events, steady_clock::time_point end, const std::string& what) {
  while (true) {
    pollfd pfd{fd, events, 0};
    const int rc = ::poll(&pfd, 1, RemainingMs(end));
    if (rc > 0) {
      return;
    }
    if (rc == 0) {
      throw std::runtime_error(what + ": timed out");
    }
    if (errno != EINTR) {
      throw std::runtime_error(ErrnoText(what + ": poll", errno));
    }
  }
}

// Creates a TCP socket inside network namespace `netns` ("" = ours) and connects it. A
// dedicated thread enters the namespace, so the caller's thread keeps its own namespace; the
// socket stays bound to the namespace it was created in.
UniqueFd ConnectInNetns(const std::string& netns, const std::string& host, int port,
                        steady_clock::time_point end) {
  sockaddr_storage address{};
  socklen_t address_len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    address_len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    address_len = sizeof(sockaddr_in6);
  } else {
    throw std::runtime_error("not a numeric IP address: " + host);
  }

  int fd = -1;
  std::string error;
  std::thread worker([&] {
    if (!netns.empty()) {
      const std::string path = "/var/run/netns/" + netns;
      UniqueFd ns_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (ns_fd.Get() < 0) {
        error = ErrnoText("open " + path, errno);
        return;
      }
      if (::setns(ns_fd.Get(), CLONE_NEWNET) != 0) {
        error = ErrnoText("setns " + path, errno);
        return;
      }
    }
    fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      error = ErrnoText("socket", errno);
    }
  });
  worker.join();
  if (fd < 0) {
    throw std::runtime_error(error);
  }
  UniqueFd connection(fd);
  const std::string target = "[" + netns + "] " + host + ":" + std::to_string(port);
  if (::connect(connection.Get(), reinterpret_cast<sockaddr*>(&address), address_len) != 0) {
    if (errno != EINPROGRESS) {
      throw std::runtime_error(ErrnoText("connect " + target, errno));
    }
    WaitFd(connection.Get(), POLLOUT, end, "connect " + target);
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(connection.Get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      throw std::runtime_error(ErrnoText("connect " + target, so_error));
    }
  }
  return connection;
}

// Label value with \\, \" and \n escapes; `pos` is after the opening quote.
bool ParseLabelValue(std::string_view line, std::size_t& pos, std::string& value) {
  while (pos < line.size()) {
    const char c = line[pos++];
    if (c == '"') {
      return true;
    }
    if (c == '\\' && pos < line.size()) {
      const char escaped = line[pos++];
      value += escaped == 'n' ? '\n' : escaped;
    } else {
      value += c;
    }
  }
  return false;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

std::optional<Sample> ParseSampleLine(std::string_view line) {
  Sample sample;
  std::size_t pos = 0;
  while (pos < line.size() && IsNameChar(line[pos])) {
    ++pos;
  }
  if (pos == 0) {
    return std::nullopt;
  }
  sample.name = std::string(line.substr(0, pos));
  if (pos < line.size() && line[pos] == '{') {
    ++pos;
    while (true) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) {
        ++pos;
      }
      if (pos >= line.size()) {
        return std::nullopt;
      }
      if (line[pos] == '}') {
        ++pos;
        break;
      }
      const std::size_t name_start = pos;
      while (pos < line.size() && IsNameChar(line[pos])) {
        ++pos;
      }
      const std::string label(line.substr(name_start, pos - name_start));
      if (label.empty() || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
        return std::nullopt;
      }
      pos += 2;
      std::string value;
      if (!ParseLabelValue(line, pos, value)) {
        return std::nullopt;
      }
      sample.labels[label] = std::move(value);
    }
  }
  while (pos < line.size() && line[pos] == ' ') {
    ++pos;
  }
  const std::size_t value_end = line.find(' ', pos);
  const std::string token(line.substr(
      pos, value_end == std::string_view::npos ? std::string_view::npos : value_end - pos));
  if (token.empty()) {
    return std::nullopt;
  }
  char* parse_end = nullptr;
  sample.value = std::strtod(token.c_str(), &parse_end);
  if (parse_end != token.c_str() + token.size()) {
    return std::nullopt;
  }
  return sample;
}

bool HasLabels(const Sample& sample, const std::map<std::string, std::string>& subset) {
  for (const auto& [key, value] : subset) {
    const auto it = sample.labels.find(key);
    if (it == sample.labels.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string FlavourName(BirdFlavour flavour) {
  switch (flavour) {
    case BirdFlavour::kBird1:
      return "BIRD 1.6";
    case BirdFlavour::kBird2:
      return "BIRD 2";
    case BirdFlavour::kCalicoFork:
      return "Calico's fork";
    case BirdFlavour::kBird3:
      return "BIRD 3";
  }
  return "?";
}

std::string FlavourArg(BirdFlavour flavour) {
  switch (flavour) {
    case BirdFlavour::kBird1:
      return "1";
    case BirdFlavour::kBird2:
      return "2";
    case BirdFlavour::kCalicoFork:
      return "fork";
    case BirdFlavour::kBird3:
      return "3";
  }
  return "?";
}

bool HasBird6(BirdFlavour flavour) {
  return flavour == BirdFlavour::kBird1 || flavour == BirdFlavour::kCalicoFork;
}

bool IsCalicoRendered(BirdFlavour flavour) {
  return flavour == BirdFlavour::kCalicoFork || flavour == BirdFlavour::kBird3;
}

CommandResult RunCommand(const std::vector<std::string>& argv, milliseconds timeout) {
  if (argv.empty()) {
    throw std::invalid_argument("RunCommand: empty argv");
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(ErrnoText("pipe2", errno));
  }
  UniqueFd out_read(out_pipe[0]);
  UniqueFd out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(ErrnoText("pipe2", errno));
  }
  UniqueFd err_read(err_pipe[0]);
  UniqueFd err_write(err_pipe[1]);

  FileActions actions;
  posix_spawn_file_actions_addopen(actions.Get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions.Get(), out_write.Get(), 1);
  posix_spawn_file_actions_adddup2(actions.Get(), err_write.Get(), 2);
  auto pointers = ArgvPointers(argv);
  pid_t pid = -1;
  const int rc =
      ::posix_spawnp(&pid, argv[0].c_str(), actions.Get(), nullptr, pointers.data(), environ);
  out_write.Reset();
  err_write.Reset();
  if (rc != 0) {
    throw std::runtime_error(ErrnoText("cannot run " + JoinArgv(argv), rc));
  }

  CommandResult result;
  const auto end = steady_clock::now() + timeout;
  bool timed_out = false;
  char buffer[4096];
  while (out_read.Get() >= 0 || err_read.Get() >= 0) {
    pollfd fds[2] = {{out_read.Get(), POLLIN, 0}, {err_read.Get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, RemainingMs(end));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      UniqueFd& source = i == 0 ? out_read : err_read;
      std::string& sink = i == 0 ? result.out : result.err;
      const ssize_t n = ::read(source.Get(), buffer, sizeof(buffer));
      if (n > 0) {
        sink.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        source.Reset();
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeWaitStatus(status);
  if (timed_out) {
    result.err += "\n[RunCommand: killed after timeout: " + JoinArgv(argv) + "]";
  }
  return result;
}

std::string SourceDir() { return CBE_SOURCE_DIR; }

std::string LabScript() { return SourceDir() + "/tests/integration/lab.sh"; }

namespace {

// The build folder's third_party/<name>, else build/third_party/<name> of the repository.
std::string ThirdPartyDefault(const std::string& name) {
#ifdef CBE_BUILD_DIR
  return std::string(CBE_BUILD_DIR) + "/third_party/" + name;
#else
  return "build/third_party/" + name;
#endif
}

// $variable, or `fallback` when unset; relative to the repository root unless absolute.
std::string RepoDirFromEnv(const char* variable, const std::string& fallback) {
  const char* env = std::getenv(variable);
  std::string dir = env != nullptr && *env != '\0' ? env : fallback;
  if (dir.front() != '/') {
    dir = SourceDir() + "/" + dir;
  }
  return dir;
}

}  // namespace

std::string Bird2Dir() { return RepoDirFromEnv("CBE_BIRD2_DIR", "build/bird2"); }

std::string BirdBinDir(BirdFlavour flavour) {
  switch (flavour) {
    case BirdFlavour::kBird1:
      return "/usr/sbin";
    case BirdFlavour::kBird2:
      return Bird2Dir() + "/usr/sbin";
    case BirdFlavour::kCalicoFork:
      return RepoDirFromEnv("CBE_CALICO_BIRD_DIR", ThirdPartyDefault("calico-bird"));
    case BirdFlavour::kBird3:
      return RepoDirFromEnv("CBE_BIRD3_DIR", ThirdPartyDefault("bird3"));
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Lab

Lab::Lab(BirdFlavour flavour) : flavour_(flavour) {
  if (::geteuid() != 0) {
    throw std::runtime_error("the BIRD lab needs root (network namespaces, setns)");
  }
  const std::string bird = BirdBinDir(flavour_) + "/bird";
  if (flavour_ == BirdFlavour::kBird2 && ::access(bird.c_str(), X_OK) != 0) {
    throw std::runtime_error(
        "BIRD 2 not found at " + bird +
        " (set CBE_BIRD2_DIR; create it with `apt-get download bird2 && dpkg -x "
        "bird2_*.deb build/bird2 && apt-get install -y libssh-gcrypt-4`)");
  }
  if (IsCalicoRendered(flavour_)) {
    if (::access(bird.c_str(), X_OK) != 0) {
      throw std::runtime_error(FlavourName(flavour_) + " not found at " + bird +
                               " (build it: `make third-party-birds` or "
                               "`.ci/build-third-party-birds build/third_party`; or set "
                               "CBE_CALICO_BIRD_DIR / CBE_BIRD3_DIR)");
    }
    // lab.sh finds the same daemons (it inherits our environment).
    ::setenv(flavour_ == BirdFlavour::kBird3 ? "CBE_BIRD3_DIR" : "CBE_CALICO_BIRD_DIR",
             BirdBinDir(flavour_).c_str(), /*overwrite=*/0);
  }
  prefix_ = "cbe" + std::to_string(::getpid()) + "n" + std::to_string(++lab_counter);
  const char* root = std::getenv("CBE_LAB_ROOT");
  dir_ = std::string(root != nullptr && *root != '\0' ? root : "/tmp") + "/" + prefix_;
  // Leftovers of an earlier process that had the same pid.
  RunLab({"down", prefix_});
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  const CommandResult up = RunLab({"up", prefix_, FlavourArg(flavour_), dir_});
  if (up.exit_code != 0) {
    RunLab({"down", prefix_});
    throw std::runtime_error("lab.sh up " + prefix_ + " failed (exit " +
                             std::to_string(up.exit_code) + "):\n" + up.out + up.err);
  }
}

Lab::~Lab() {
  try {
    RunLab({"down", prefix_});
  } catch (...) {
    // Nothing sensible to do in a destructor; `lab.sh down` is idempotent.
  }
  const char* keep = std::getenv("CBE_KEEP_LAB_DIR");
  if (keep == nullptr || std::string(keep) != "1") {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

CommandResult Lab::RunLab(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/bin/bash", LabScript()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, kLabCommandTimeout);
}

std::string Lab::Spec(const std::string& node, bool v6) const {
  if (v6 && !HasBird6(flavour_)) {
    throw std::invalid_argument("bird6 only exists with BIRD 1.6 and Calico's fork");
  }
  return v6 ? node + ":6" : node;
}

std::string Lab::Netns(const std::string& node) const { return prefix_ + "-" + node; }

std::string Lab::SocketPath(const std::string& node, bool v6) const {
  Spec(node, v6);
  return dir_ + "/" + node + (v6 ? "/bird6.ctl" : "/bird.ctl");
}

std::string Lab::LogPath(const std::string& node, bool v6) const {
  Spec(node, v6);
  return dir_ + "/" + node + (v6 ? "/bird6.log" : "/bird.log");
}

std::string Lab::ConfigPath(const std::string& node, bool v6) const {
  Spec(node, v6);
  return dir_ + "/" + node + (v6 ? "/bird6" : "/bird") +
         (IsCalicoRendered(flavour_) ? ".cfg" : ".conf");
}

namespace {

void CheckLab(const CommandResult& result, const std::string& what) {
  if (result.exit_code != 0) {
    throw std::runtime_error("lab.sh " + what + " failed (exit " +
                             std::to_string(result.exit_code) + "):\n" + result.out + result.err);
  }
}

}  // namespace

void Lab::BirdStart(const std::string& node, bool v6) {
  const std::string flavour = FlavourArg(flavour_);
  CheckLab(RunLab({"bird-start", prefix_, flavour, dir_, Spec(node, v6)}), "bird-start " + node);
}

void Lab::BirdStop(const std::string& node, bool v6) {
  CheckLab(RunLab({"bird-stop", prefix_, Spec(node, v6)}), "bird-stop " + node);
}

void Lab::BirdKill(const std::string& node, bool v6) {
  CheckLab(RunLab({"bird-kill", prefix_, Spec(node, v6)}), "bird-kill " + node);
}

std::string Lab::Birdc(const std::string& node, const std::string& command, bool v6) {
  const std::string flavour = FlavourArg(flavour_);
  const CommandResult result = RunLab({"birdc", prefix_, flavour, dir_, Spec(node, v6), command});
  CheckLab(result, "birdc " + node + " '" + command + "'");
  return result.out;
}

void Lab::RemoveProtocol(const std::string& node, const std::string& name, bool v6) {
  const std::string flavour = FlavourArg(flavour_);
  CheckLab(RunLab({"remove-protocol", prefix_, flavour, dir_, Spec(node, v6), name}),
           "remove-protocol " + node + " " + name);
}

std::string Lab::Status() const {
  try {
    const CommandResult result = RunLab({"status", prefix_, FlavourArg(flavour_), dir_});
    return result.out + result.err;
  } catch (const std::exception& e) {
    return std::string("lab.sh status failed: ") + e.what();
  }
}

std::string Lab::WriteFile(const std::string& name, const std::string& content) const {
  const std::string path = dir_ + "/" + name;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << content;
  file.close();
  if (!file) {
    throw std::runtime_error("cannot write " + path);
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// ExporterProcess

ExporterProcess::ExporterProcess(std::string netns, const std::string& config_file, int port,
                                 std::string log_file, const std::vector<std::string>& extra_args,
                                 const std::vector<std::string>& wrapper)
    : netns_(std::move(netns)), port_(port), log_file_(std::move(log_file)) {
  const std::string exporter = CBE_EXPORTER_PATH;
  if (::access(exporter.c_str(), X_OK) != 0) {
    throw std::runtime_error(ErrnoText("exporter binary " + exporter, errno));
  }
  std::vector<std::string> argv;
  if (!netns_.empty()) {
    argv = {IpBinary(), "netns", "exec", netns_};
  }
  argv.insert(argv.end(), wrapper.begin(), wrapper.end());
  argv.push_back(exporter);
  argv.push_back("--config.file=" + config_file);
  argv.push_back("--web.listen-address=127.0.0.1:" + std::to_string(port_));
  argv.push_back("--log.level=debug");
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());

  FileActions actions;
  posix_spawn_file_actions_addopen(actions.Get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions.Get(), 1, log_file_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(actions.Get(), 1, 2);
  auto pointers = ArgvPointers(argv);
  const int rc =
      ::posix_spawn(&pid_, argv[0].c_str(), actions.Get(), nullptr, pointers.data(), environ);
  if (rc != 0) {
    throw std::runtime_error(ErrnoText("cannot start " + JoinArgv(argv), rc));
  }
}

ExporterProcess::~ExporterProcess() { Stop(); }

bool ExporterProcess::Running() {
  if (exited_ || pid_ <= 0) {
    return false;
  }
  int status = 0;
  const pid_t rc = ::waitpid(pid_, &status, WNOHANG);
  if (rc == pid_) {
    exited_ = true;
    exit_code_ = DecodeWaitStatus(status);
    return false;
  }
  return true;
}

bool ExporterProcess::WaitReady(milliseconds deadline) {
  bool ready = false;
  PollUntil(deadline, [&] {
    if (!Running()) {
      return true;  // give up early, ready stays false
    }
    try {
      ready = HttpRequest(netns_, "127.0.0.1", port_, "/metrics", milliseconds(2000)).status == 200;
    } catch (const std::exception&) {
      ready = false;
    }
    return ready;
  });
  return ready;
}

std::string ExporterProcess::Get(const std::string& path) const {
  return HttpGet(netns_, "127.0.0.1", port_, path);
}

std::string ExporterProcess::LogTail(std::size_t max_bytes) const {
  std::ifstream file(log_file_, std::ios::binary);
  if (!file) {
    return "(no log file " + log_file_ + ")";
  }
  std::stringstream content;
  content << file.rdbuf();
  std::string text = content.str();
  if (text.size() > max_bytes) {
    text = "...\n" + text.substr(text.size() - max_bytes);
  }
  return text;
}

int ExporterProcess::Stop(milliseconds grace) {
  if (pid_ <= 0) {
    return -1;
  }
  if (!Running()) {
    return exit_code_;
  }
  ::kill(pid_, SIGTERM);
  PollUntil(grace, [&] { return !Running(); });
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exited_ = true;
    exit_code_ = DecodeWaitStatus(status);
  }
  return exit_code_;
}

// ---------------------------------------------------------------------------------------------
// HTTP

HttpResponse HttpRequest(const std::string& netns, const std::string& host, int port,
                         const std::string& path, milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  UniqueFd connection = ConnectInNetns(netns, host, port, end);
  const std::string host_header = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host_header + ":" +
                              std::to_string(port) +
                              "\r\nUser-Agent: cbe-integration-test\r\nAccept: */*\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    WaitFd(connection.Get(), POLLOUT, end, "send to " + host);
    const ssize_t n =
        ::send(connection.Get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      throw std::runtime_error(ErrnoText("send to " + host, errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  while (true) {
    WaitFd(connection.Get(), POLLIN, end, "GET " + path + " from " + host);
    const ssize_t n = ::recv(connection.Get(), buffer, sizeof(buffer), 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      throw std::runtime_error(ErrnoText("recv from " + host, errno));
    }
    raw.append(buffer, static_cast<std::size_t>(n));
  }

  HttpResponse response;
  std::size_t header_end = raw.find("\r\n\r\n");
  std::size_t body_start = header_end + 4;
  if (header_end == std::string::npos) {
    header_end = raw.find("\n\n");
    body_start = header_end + 2;
  }
  if (header_end == std::string::npos) {
    throw std::runtime_error("GET " + path + ": no HTTP header in reply: " + raw.substr(0, 200));
  }
  const std::string head = raw.substr(0, header_end);
  const std::size_t line_end = head.find("\r\n");
  response.status_line = head.substr(0, line_end);
  response.headers = line_end == std::string::npos ? "" : head.substr(line_end + 2);
  response.body = raw.substr(body_start);
  const std::size_t space = response.status_line.find(' ');
  if (response.status_line.rfind("HTTP/", 0) != 0 || space == std::string::npos) {
    throw std::runtime_error("GET " + path + ": bad status line: " + response.status_line);
  }
  response.status = std::atoi(response.status_line.c_str() + space + 1);
  return response;
}

std::string HttpGet(const std::string& netns, const std::string& host, int port,
                    const std::string& path) {
  HttpResponse response = HttpRequest(netns, host, port, path);
  if (response.status != 200) {
    throw std::runtime_error("GET " + path + ": " + response.status_line + "\n" +
                             response.body.substr(0, 2000));
  }
  return std::move(response.body);
}

// ---------------------------------------------------------------------------------------------
// Exposition format

std::vector<Sample> ParseExposition(std::string_view exposition) {
  std::vector<Sample> samples;
  std::size_t start = 0;
  while (start < exposition.size()) {
    std::size_t end = exposition.find('\n', start);
    if (end == std::string_view::npos) {
      end = exposition.size();
    }
    std::string_view line = exposition.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (auto sample = ParseSampleLine(line)) {
      samples.push_back(std::move(*sample));
    }
  }
  return samples;
}

std::vector<Sample> FindSamples(std::string_view exposition, const std::string& name,
                                const std::map<std::string, std::string>& labels_subset) {
  std::vector<Sample> found;
  for (auto& sample : ParseExposition(exposition)) {
    if ((name.empty() || sample.name == name) && HasLabels(sample, labels_subset)) {
      found.push_back(std::move(sample));
    }
  }
  return found;
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels_subset) {
  const auto found = FindSamples(exposition, name, labels_subset);
  if (found.empty()) {
    return std::nullopt;
  }
  return found.front().value;
}

std::string GrepLines(std::string_view text, std::string_view needle) {
  std::string lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(start, end - start);
    if (line.find(needle) != std::string_view::npos) {
      lines.append(line);
      lines += '\n';
    }
    start = end + 1;
  }
  return lines;
}

void RunInNetns(const std::string& netns, const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      const std::string path = "/var/run/netns/" + netns;
      UniqueFd ns_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (ns_fd.Get() < 0) {
        throw std::runtime_error(ErrnoText("open " + path, errno));
      }
      if (::setns(ns_fd.Get(), CLONE_NEWNET) != 0) {
        throw std::runtime_error(ErrnoText("setns " + path, errno));
      }
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

NetLab::NetLab(const std::vector<std::string>& env) : env_(env) {
  static int counter = 0;
  prefix_ = "cbn" + std::to_string(::getpid()) + "n" + std::to_string(++counter);
  dir_ = "/tmp/" + prefix_;
  Run({"up", prefix_, dir_});
}

NetLab::~NetLab() {
  RunCommand({SourceDir() + "/tests/integration/netlab.sh", "down", prefix_});
  RunCommand({"rm", "-rf", dir_});
}

void NetLab::Exec(const std::string& node, std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", Netns(node)});
  const CommandResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    throw std::runtime_error(JoinArgv(argv) + " failed: " + r.err);
  }
}

void NetLab::BirdStop(const std::string& node) { Run({"bird-stop", prefix_, node}); }
void NetLab::BirdStart(const std::string& node) { Run({"bird-start", prefix_, dir_, node}); }

void NetLab::Run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"env"};
  argv.insert(argv.end(), env_.begin(), env_.end());
  argv.push_back(SourceDir() + "/tests/integration/netlab.sh");
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    throw std::runtime_error("netlab.sh " + (args.empty() ? "" : args[0]) + " failed: " + r.err);
  }
}

}  // namespace cbe::testing

namespace cbe::testing {

bool WaitForCause(const ExporterProcess& exporter, const std::string& protocol,
                  const std::string& cause, std::chrono::milliseconds deadline, std::string* seen) {
  std::string metrics;
  const bool ok = PollUntil(deadline, [&] {
    try {
      metrics = exporter.Get("/metrics");
    } catch (const std::exception& e) {
      metrics = e.what();
      return false;
    }
    return MetricValue(metrics, "calico_bgp_peer_diagnosis",
                       {{"protocol", protocol}, {"cause", cause}}) == 1.0;
  });
  *seen = GrepLines(metrics, "calico_bgp_peer_diagnosis");
  return ok;
}

}  // namespace cbe::testing
