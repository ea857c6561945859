// calico-bgp-exporter: flags -> config -> wiring -> run. main() parses the flags and picks the
// mode (`intent`, `check`, `--config.check`, the daemon); each mode is a list of named steps
// below. The daemon's logic lives in the layers (exporter/core, exporter/web, ...), not here.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
#include "exporter/base/memory.h"
#include "exporter/base/version.h"
#include "exporter/config/config.h"
#include "exporter/config/listen_address.h"
#include "exporter/config/web_config.h"
#include "exporter/core/bird_round.h"
#include "exporter/core/check.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/probe_rounds.h"
#include "exporter/core/runner.h"
#include "exporter/core/scheduler.h"
#include "exporter/core/snapshot.h"
#include "exporter/daemon/privileges.h"
#include "exporter/intent/cli.h"
#include "exporter/metrics/exposition.h"
#include "exporter/plugins/kube_plugin.h"
#include "exporter/web/http_pages.h"
#include "exporter/web/web_server.h"
#include "probes/net/stream.h"

namespace {

constexpr int kExitUsage = 2;

struct Flags {
  bool check = false;
  bool list_causes = false;
  std::string check_output = "table";
  std::string listen_address = ":10179";
  std::string telemetry_path = "/metrics";
  std::string config_file;
  bool config_check = false;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string web_config_file;
};

cbe::CheckOutput CheckOutputOf(const Flags& flags) {
  return flags.check_output == "json" ? cbe::CheckOutput::kJson : cbe::CheckOutput::kTable;
}

// Prints every error of a config file as file:line:col: key: message.
template <typename Errors>
void PrintErrors(const Errors& errors, const std::string& file) {
  for (const auto& e : errors) {
    std::cerr << e.Format(file) << "\n";
  }
}

bool InitLogging(const Flags& flags) {
  const auto format = cbe::logging::ParseFormat(flags.log_format);
  const auto level = cbe::logging::ParseLevel(flags.log_level);
  if (!format || !level) {
    std::cerr << "calico-bgp-exporter: --log.format must be logfmt or json and --log.level one of "
                 "debug, info, warn, error\n";
    return false;
  }
  // `check` prints for a person on stdout: only errors go to stderr by default.
  cbe::logging::Init(*format,
                     flags.check && flags.log_level == "info" ? spdlog::level::err : *level);
  return true;
}

// The config file's settings, or the defaults without --config.file; nullopt after printing
// the file's errors.
std::optional<cbe::Config> LoadConfig(const Flags& flags) {
  cbe::Config config;
  if (!flags.config_file.empty()) {
    cbe::ConfigResult loaded = cbe::LoadConfigFile(flags.config_file);
    if (!loaded.ok()) {
      PrintErrors(loaded.errors, flags.config_file);
      return std::nullopt;
    }
    config = std::move(loaded.config);
  }
  if (auto error = cbe::ResolveNodeName(std::getenv, &config)) {
    PrintErrors(std::vector<cbe::ConfigError>{*error},
                flags.config_file.empty() ? "defaults" : flags.config_file);
    return std::nullopt;
  }
  return config;
}

// --config.check: the config (already loaded) and the web config are valid.
int CheckConfigFiles(const Flags& flags) {
  if (!flags.web_config_file.empty()) {
    const cbe::WebConfigResult web = cbe::LoadWebConfigFile(flags.web_config_file);
    if (!web.ok()) {
      PrintErrors(web.errors, flags.web_config_file);
      return kExitUsage;
    }
    std::cout << flags.web_config_file << ": web config OK\n";
  }
  std::cout << (flags.config_file.empty() ? std::string("defaults") : flags.config_file)
            << ": config OK\n";
  return 0;
}

// The --web.* flags of the daemon; nullopt after printing what is wrong.
std::optional<cbe::ListenAddress> CheckWebFlags(const Flags& flags) {
  const auto listen_address = cbe::ParseListenAddress(flags.listen_address);
  if (!listen_address) {
    std::cerr << "calico-bgp-exporter: --web.listen-address: " << listen_address.error().message
              << "\n";
    return std::nullopt;
  }
  if (flags.telemetry_path.empty() || flags.telemetry_path.front() != '/' ||
      flags.telemetry_path == "/" || flags.telemetry_path == "/healthz") {
    std::cerr << "calico-bgp-exporter: --web.telemetry-path must start with / and not be / or "
                 "/healthz\n";
    return std::nullopt;
  }
  return *listen_address;
}

// SIGINT, SIGTERM and SIGHUP go to sigwait() in the daemon's loop: blocked before any thread
// starts, so every thread inherits the mask.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

// Least privilege before the first thread starts: CAP_NET_RAW for the probes, nothing else.
bool DropPrivileges(const cbe::ListenAddress& listen_address) {
  auto caps = cbe::DropCapabilities(cbe::NeededCapabilities(listen_address.port));
  if (!caps) {
    cbe::logging::Error("cannot drop capabilities", {{"err", caps.error().message}});
    return false;
  }
  if (caps->changed) {
    cbe::logging::Info("dropped capabilities",
                       {{"kept", caps->kept}, {"before", caps->before}, {"after", caps->after}});
  }
  return true;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ",") + item;
  }
  return out;
}

// The daemon: the rounds publishing into the store, the pages serving it, and the loop that
// waits for signals (SIGHUP reloads, SIGINT/SIGTERM stop).
class Daemon {
 public:
  Daemon(const Flags& flags, cbe::Config config)
      : flags_(flags),
        config_(std::move(config)),
        runner_(config_, &store_, &clock_, &connector_),
        pages_({flags.telemetry_path, config_.bird.interval}, &store_, &clock_) {
    PublishConfigStatus(true);
  }

  // Starts the web server (the exit code when it cannot) and then the rounds.
  int Start(const cbe::ListenAddress& listen_address) {
    cbe::WebServer::StartResult started = cbe::WebServer::Start(
        {listen_address, flags_.telemetry_path, flags_.web_config_file, cbe::kWebThreads}, &pages_);
    if (!started.server) {
      for (const auto& e : started.errors) {
        std::cerr << e << "\n";
      }
      return started.exit_code;
    }
    web_ = std::move(started.server);
    LogStart();
    runner_.Start();
    cbe::GiveBackStartupPages("start-up");
    return 0;
  }

  // Until SIGINT or SIGTERM; SIGHUP re-reads the web config and the config file.
  void ServeUntilStopped(const sigset_t& signals) {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) {
        continue;
      }
      if (sig != SIGHUP) {
        cbe::logging::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        return;
      }
      web_->Reload();
      Reload();
      cbe::GiveBackStartupPages("reload");
    }
  }

  // A clean exit within a second, even while a round waits on BIRD's deadline: the rounds get
  // half a second to finish, then the process leaves. civetweb's own shutdown polls in 2 s
  // steps, so it is not waited for: the kernel closes the listening socket.
  [[noreturn]] void Exit() {
    const bool rounds_done = runner_.StopBy(std::chrono::steady_clock::now() + kStopGrace);
    cbe::logging::Info("stopped", {{"rounds", rounds_done ? "finished" : "cut at their deadline"}});
    spdlog::default_logger_raw()->flush();
    std::fflush(stdout);
    std::_Exit(0);
  }

 private:
  static constexpr std::chrono::milliseconds kStopGrace{500};

  // The config file again; a broken file keeps the running config and says so in the metrics.
  void Reload() {
    if (flags_.config_file.empty()) {
      cbe::logging::Info("SIGHUP: no --config.file to reload");
      return;
    }
    cbe::ConfigResult reloaded = cbe::LoadConfigFile(flags_.config_file);
    if (auto error = cbe::ResolveNodeName(std::getenv, &reloaded.config); error && reloaded.ok()) {
      reloaded.errors.push_back(*error);
    }
    if (!reloaded.ok()) {
      for (const auto& e : reloaded.errors) {
        cbe::logging::Error("config reload failed, keeping the running config",
                            {{"err", e.Format(flags_.config_file)}});
      }
      PublishConfigStatus(false);
      return;
    }
    config_ = std::move(reloaded.config);
    runner_.Reconfigure(config_);
    PublishConfigStatus(true);
    cbe::logging::Info("config reloaded", {{"file", flags_.config_file}});
  }

  // The running config's status; a failed reload keeps the running config's metrics.
  void PublishConfigStatus(bool ok) {
    if (ok) {
      last_success_ = cbe::ToUnixSeconds(clock_.Now());
    }
    store_.Publish(&cbe::Snapshot::config,
                   std::make_shared<const cbe::ConfigStatus>(
                       cbe::ConfigStatus{ok, last_success_, config_.metrics}));
  }

  void LogStart() const {
    std::vector<std::string> ports;
    for (int p : web_->ListeningPorts()) {
      ports.push_back(std::to_string(p));
    }
    const std::string sockets = Join(config_.bird.sockets);
    cbe::logging::Info("starting calico-bgp-exporter",
                       {{"version", cbe::kVersion},
                        {"revision", cbe::kRevision},
                        {"address", flags_.listen_address},
                        {"ports", Join(ports)},
                        {"sockets", sockets.empty() ? "auto" : sockets},
                        {"interval", cbe::FormatDuration(config_.bird.interval)}});
  }

  const Flags& flags_;
  cbe::Config config_;
  double last_success_ = 0;
  cbe::SystemClock clock_;
  cbe::net::UnixStreamConnector connector_{&clock_};
  cbe::SnapshotStore store_;
  cbe::Runner runner_;
  cbe::HttpPages pages_;
  std::unique_ptr<cbe::WebServer> web_;
};

// `intent serve`, from the kube plugin (libcurl is loaded only by the modes that use it).
int RunIntentServe(const std::vector<std::string>& args) {
  auto entry = cbe::KubePluginEntry(cbe::kIntentServeSymbol);
  if (!entry) {
    std::cerr << "calico-bgp-exporter intent serve: " << entry.error().message << "\n";
    return kExitUsage;
  }
  return reinterpret_cast<cbe::IntentServeEntry>(*entry)(&args);
}

// The mode the flags ask for: `check`, --config.check or the daemon.
int Run(const Flags& flags) {
  if (!InitLogging(flags)) {
    return kExitUsage;
  }
  if (flags.list_causes) {
    std::cout << cbe::FormatCauseList(CheckOutputOf(flags));
    return 0;
  }
  std::optional<cbe::Config> config = LoadConfig(flags);
  if (!config) {
    return kExitUsage;
  }
  if (flags.check) {
    return cbe::RunCheck(*config, CheckOutputOf(flags), std::cout);
  }
  if (flags.config_check) {
    return CheckConfigFiles(flags);
  }
  const std::optional<cbe::ListenAddress> listen_address = CheckWebFlags(flags);
  if (!listen_address) {
    return kExitUsage;
  }
  const sigset_t signals = BlockSignals();
  Daemon daemon(flags, std::move(*config));
  if (!DropPrivileges(*listen_address)) {
    return 1;
  }
  if (const int code = daemon.Start(*listen_address); code != 0) {
    return code;
  }
  daemon.ServeUntilStopped(signals);
  daemon.Exit();
}

}  // namespace

int main(int argc, char** argv) {
  cbe::ConfigureAllocator();  // one arena, large blocks unmapped, small ones reused
  if (argc > 2 && std::string(argv[1]) == "intent" && std::string(argv[2]) == "serve") {
    return RunIntentServe({argv + 3, argv + argc});  // one replica per cluster (issue 16)
  }
  if (argc > 1 && std::string(argv[1]) == "intent") {  // Calico's intended sessions (issue 15)
    return cbe::intent::RunIntentCommand({argv + 2, argv + argc}, std::cin, std::cout, std::cerr);
  }
  Flags flags;
  CLI::App app{"calico-bgp-exporter: Prometheus exporter for Calico's BIRD BGP sessions.",
               "calico-bgp-exporter"};
  app.option_defaults()->always_capture_default();
  app.add_option("--web.listen-address", flags.listen_address,
                 "Address to listen on for /metrics, the landing page and /healthz");
  app.add_option("--web.telemetry-path", flags.telemetry_path, "Path of the metrics");
  app.add_option("--config.file", flags.config_file,
                 "YAML config file (default: built-in defaults)");
  app.add_flag("--config.check", flags.config_check, "Validate the config file and exit");
  app.add_option("--log.level", flags.log_level, "debug, info, warn or error");
  app.add_option("--log.format", flags.log_format, "logfmt or json");
  app.add_option("--web.config.file", flags.web_config_file,
                 "exporter-toolkit web config: TLS, client certificates, basic auth, headers "
                 "(docs/tls.md); re-read when it changes");
  CLI::App* check = app.add_subcommand(
      "check",
      "Run one round now (BIRD and every enabled probe), print each session with its diagnosed "
      "cause and next step, exit 0 if all are healthy, 1 if not, 2 on usage or config errors");
  check->fallthrough();
  check->add_option("--output", flags.check_output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  check->add_flag("--list-causes", flags.list_causes,
                  "Print every cause the diagnosis can name with its next step, and exit");
  check->callback([&] { flags.check = true; });
  app.set_version_flag("--version", std::string("calico-bgp-exporter ") + cbe::kVersion +
                                        " (revision " + cbe::kRevision + ", " +
                                        cbe::CompilerName() + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return Run(flags);
}
