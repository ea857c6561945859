// calico-bgp-exporter: flags -> config -> wiring -> run. Run() does all of it inline: the flag
// checks, loading the config, the wiring, and the signal loop that reloads on SIGHUP.

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "exporter/base/clock.h"
#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
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
#include "exporter/intent_serve/serve_command.h"
#include "exporter/metrics/exposition.h"
#include "exporter/web/http_pages.h"
#include "exporter/web/web_server.h"
#include "probes/net/stream.h"
#include "version.h"

namespace {

constexpr int kExitUsage = 2;

struct Flags {
  bool check = false;
  std::string check_output = "table";
  std::string listen_address = ":10179";
  std::string telemetry_path = "/metrics";
  std::string config_file;
  bool config_check = false;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string web_config_file;
};

int Run(const Flags& flags) {
  const auto format = cbe::logging::ParseFormat(flags.log_format);
  const auto level = cbe::logging::ParseLevel(flags.log_level);
  if (!format || !level) {
    std::cerr << "calico-bgp-exporter: --log.format must be logfmt or json and --log.level one of "
                 "debug, info, warn, error\n";
    return kExitUsage;
  }
  // `check` prints for a person on stdout: only errors go to stderr by default.
  cbe::logging::Init(*format,
                     flags.check && flags.log_level == "info" ? spdlog::level::err : *level);

  cbe::Config config;
  if (!flags.config_file.empty()) {
    cbe::ConfigResult loaded = cbe::LoadConfigFile(flags.config_file);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) {
        std::cerr << e.Format(flags.config_file) << "\n";
      }
      return kExitUsage;
    }
    config = std::move(loaded.config);
  }
  if (flags.check) {
    return cbe::RunCheck(
        config, flags.check_output == "json" ? cbe::CheckOutput::kJson : cbe::CheckOutput::kTable,
        std::cout);
  }
  if (flags.config_check) {
    if (!flags.web_config_file.empty()) {
      const cbe::WebConfigResult web = cbe::LoadWebConfigFile(flags.web_config_file);
      if (!web.ok()) {
        for (const auto& e : web.errors) {
          std::cerr << e.Format(flags.web_config_file) << "\n";
        }
        return kExitUsage;
      }
      std::cout << flags.web_config_file << ": web config OK\n";
    }
    std::cout << (flags.config_file.empty() ? std::string("defaults") : flags.config_file)
              << ": config OK\n";
    return 0;
  }
  const auto listen_address = cbe::ParseListenAddress(flags.listen_address);
  if (!listen_address) {
    std::cerr << "calico-bgp-exporter: --web.listen-address: " << listen_address.error().message
              << "\n";
    return kExitUsage;
  }
  if (flags.telemetry_path.empty() || flags.telemetry_path.front() != '/' ||
      flags.telemetry_path == "/" || flags.telemetry_path == "/healthz") {
    std::cerr << "calico-bgp-exporter: --web.telemetry-path must start with / and not be / or "
                 "/healthz\n";
    return kExitUsage;
  }

  // Signals go to sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  cbe::SystemClock clock;
  cbe::net::UnixStreamConnector connector;
  cbe::SnapshotStore store;
  cbe::Runner runner(config, &store, &clock, &connector);
  // The running config's status; a failed reload keeps the running config's metrics.
  const auto config_loaded = [&](bool ok, const cbe::MetricsConfig& metrics) {
    static double last_success = 0;
    if (ok) {
      last_success = cbe::ToUnixSeconds(clock.Now());
    }
    store.Publish(&cbe::Snapshot::config, std::make_shared<const cbe::ConfigStatus>(
                                              cbe::ConfigStatus{ok, last_success, metrics}));
  };
  cbe::MetricsConfig running_metrics = config.metrics;
  config_loaded(true, running_metrics);

  cbe::HttpPages pages({flags.telemetry_path, config.bird.interval}, &store, &clock);
  // Least privilege before the first thread starts: CAP_NET_RAW for the probes, nothing else.
  if (auto caps = cbe::DropCapabilities(cbe::NeededCapabilities(listen_address->port)); !caps) {
    cbe::logging::Error("cannot drop capabilities", {{"err", caps.error().message}});
    return 1;
  } else if (caps->changed) {
    cbe::logging::Info("dropped capabilities",
                       {{"kept", caps->kept}, {"before", caps->before}, {"after", caps->after}});
  }
  cbe::WebServer::StartResult started = cbe::WebServer::Start(
      {*listen_address, flags.telemetry_path, flags.web_config_file, cbe::kWebThreads}, &pages);
  if (!started.server) {
    for (const auto& e : started.errors) {
      std::cerr << e << "\n";
    }
    return started.exit_code;
  }
  std::unique_ptr<cbe::WebServer>& web = started.server;  // web->Reload() re-reads its file.

  std::string sockets;
  for (const auto& s : config.bird.sockets) {
    sockets += (sockets.empty() ? "" : ",") + s;
  }
  std::string ports;
  for (int p : web->ListeningPorts()) {
    ports += (ports.empty() ? "" : ",") + std::to_string(p);
  }
  cbe::logging::Info("starting calico-bgp-exporter",
                     {{"version", cbe::kVersion},
                      {"revision", cbe::kRevision},
                      {"address", flags.listen_address},
                      {"ports", ports},
                      {"sockets", sockets.empty() ? "auto" : sockets},
                      {"interval", cbe::FormatDuration(config.bird.interval)}});
  runner.Start();

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      // The web config (TLS, users) and the config file; a broken file keeps the old one.
      web->Reload();
      if (flags.config_file.empty()) {
        cbe::logging::Info("SIGHUP: no --config.file to reload");
        continue;
      }
      cbe::ConfigResult reloaded = cbe::LoadConfigFile(flags.config_file);
      if (!reloaded.ok()) {
        for (const auto& e : reloaded.errors) {
          cbe::logging::Error("config reload failed, keeping the running config",
                              {{"err", e.Format(flags.config_file)}});
        }
        config_loaded(false, running_metrics);
        continue;
      }
      runner.Reconfigure(reloaded.config);
      running_metrics = reloaded.config.metrics;
      config_loaded(true, running_metrics);
      cbe::logging::Info("config reloaded", {{"file", flags.config_file}});
      continue;
    }
    cbe::logging::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  // A clean exit within a second, even while a round waits on BIRD's deadline: the rounds get
  // half a second to finish, then the process leaves. civetweb's own shutdown polls in 2 s
  // steps, so it is not waited for: the kernel closes the listening socket.
  const bool rounds_done =
      runner.StopBy(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
  cbe::logging::Info("stopped", {{"rounds", rounds_done ? "finished" : "cut at their deadline"}});
  spdlog::default_logger_raw()->flush();
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives every thread that allocates its own arena and keeps each arena's peak: with 64
  // web threads (cbe::kWebThreads) that multiplies the memory of concurrent scrapes. Two arenas
  // are plenty.
  mallopt(M_ARENA_MAX, 2);
  if (argc > 2 && std::string(argv[1]) == "intent" && std::string(argv[2]) == "serve") {
    return cbe::RunIntentServe({argv + 3, argv + argc});  // one replica per cluster (issue 16)
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
