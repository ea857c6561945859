#include "exporter/intent_serve/serve_command.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>

#include "exporter/base/clock.h"
#include "exporter/base/duration.h"
#include "exporter/base/logging.h"
#include "exporter/base/memory.h"
#include "exporter/base/version.h"
#include "exporter/config/listen_address.h"
#include "exporter/config/web_config.h"
#include "exporter/daemon/privileges.h"
#include "exporter/intent_serve/service.h"
#include "exporter/kube/credentials.h"
#include "exporter/kube/reader.h"
#include "exporter/web/intent_pages.h"
#include "exporter/web/web_server.h"

namespace cbe {
namespace {

constexpr int kExitUsage = 2;
constexpr const char* kName = "calico-bgp-exporter intent serve";

struct ServeFlags {
  std::string kubeconfig;
  std::string listen_address = ":10180";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string request_timeout = "30s";
  std::string watch_timeout = "5m";
  std::size_t page_size = 500;
  bool config_check = false;
};

// Parses the flags; an exit code when the command should end now (help, usage error).
std::optional<int> ParseFlags(const std::vector<std::string>& args, ServeFlags& f) {
  CLI::App app{
      "Serve each node's expected BGP sessions from Calico's resources in the "
      "Kubernetes API (one replica per cluster).",
      kName};
  app.option_defaults()->always_capture_default();
  app.add_option("--kubeconfig", f.kubeconfig,
                 "kubeconfig file (default: the pod's service account, in-cluster)");
  app.add_option("--web.listen-address", f.listen_address, "[host]:port to serve on");
  app.add_option("--web.telemetry-path", f.telemetry_path, "Path of the metrics");
  app.add_option("--web.config.file", f.web_config_file,
                 "exporter-toolkit web config: TLS, client certificates, basic auth (docs/tls.md)");
  app.add_option("--log.level", f.log_level, "debug, info, warn or error");
  app.add_option("--log.format", f.log_format, "logfmt or json");
  app.add_option("--kube.request-timeout", f.request_timeout,
                 "Each API request's answer must start within this time (and a LIST must not "
                 "pause longer)");
  app.add_option("--kube.watch-timeout", f.watch_timeout,
                 "Each WATCH is renewed after this time (up to twice it, random)");
  app.add_option("--kube.page-size", f.page_size, "Objects per LIST page (limit)")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--config.check", f.config_check,
               "Check the flags, the kubeconfig and the web config file, then exit");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return std::nullopt;
}

Result<kube::Credentials> LoadCredentials(const std::string& kubeconfig) {
  if (kubeconfig.empty()) {
    return kube::InClusterCredentials(
        [](const char* name) -> std::optional<std::string> {
          const char* v = std::getenv(name);
          return v ? std::optional<std::string>(v) : std::nullopt;
        },
        [](const std::string& path) {
          struct stat st {};
          return ::stat(path.c_str(), &st) == 0;
        });
  }
  std::ifstream in(kubeconfig, std::ios::binary);
  if (!in) {
    return Error{kubeconfig + ": cannot open"};
  }
  std::stringstream text;
  text << in.rdbuf();
  return kube::ParseKubeconfig(text.str(), kubeconfig,
                               std::filesystem::path(kubeconfig).parent_path().string());
}

struct Checked {
  kube::Credentials credentials;
  ListenAddress listen_address;
  kube::ReaderOptions reader;
};

// Everything the flags name, checked; errors printed. nullopt on an error.
std::optional<Checked> Check(const ServeFlags& f) {
  Checked c;
  const auto listen = ParseListenAddress(f.listen_address);
  const auto request_timeout = ParseDuration(f.request_timeout);
  const auto watch_timeout = ParseDuration(f.watch_timeout);
  std::vector<std::string> errors;
  if (!listen) {
    errors.push_back("--web.listen-address: " + listen.error().message);
  }
  if (f.telemetry_path.empty() || f.telemetry_path.front() != '/' || f.telemetry_path == "/" ||
      f.telemetry_path == "/healthz" || f.telemetry_path.starts_with("/v1/")) {
    errors.push_back("--web.telemetry-path must start with / and not be /, /healthz or /v1/...");
  }
  if (!request_timeout || request_timeout->count() < 100) {
    errors.push_back("--kube.request-timeout: a duration of at least 100ms, like 30s");
  }
  if (!watch_timeout || watch_timeout->count() < 1000) {
    errors.push_back("--kube.watch-timeout: a duration of at least 1s, like 5m");
  }
  if (!f.web_config_file.empty()) {
    const WebConfigResult web = LoadWebConfigFile(f.web_config_file);
    for (const auto& e : web.errors) {
      errors.push_back(e.Format(f.web_config_file));
    }
  }
  Result<kube::Credentials> creds = LoadCredentials(f.kubeconfig);
  if (!creds) {
    errors.push_back(creds.error().message);
  }
  for (const std::string& e : errors) {
    std::cerr << kName << ": " << e << "\n";
  }
  if (!errors.empty()) {
    return std::nullopt;
  }
  c.credentials = std::move(*creds);
  c.listen_address = *listen;
  c.reader.reflector.page_size = f.page_size;
  c.reader.reflector.request_timeout = *request_timeout;
  c.reader.reflector.watch_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(*watch_timeout);
  return c;
}

// Uniform in [0, 1), for the jitter of every thread.
double Random01() {
  static std::mutex mu;
  static std::mt19937_64 engine{std::random_device{}()};
  std::lock_guard lock(mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// Waits for SIGTERM/SIGINT; SIGHUP re-reads the web config.
void SignalLoop(const sigset_t& signals, WebServer& web) {
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      web.Reload();
      continue;
    }
    logging::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    return;
  }
}

int Serve(const ServeFlags& f, Checked c) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&signals, s);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Needs no capability at all: only CAP_NET_BIND_SERVICE for a port below 1024.
  std::vector<cap_value_t> keep;
  if (c.listen_address.port != 0 && c.listen_address.port < 1024) {
    keep.push_back(CAP_NET_BIND_SERVICE);
  }
  if (auto caps = DropCapabilities(keep); !caps) {
    logging::Error("cannot drop capabilities", {{"err", caps.error().message}});
    return 1;
  }

  SystemClock clock;
  kube::CurlClientFactory http(c.credentials, std::string("calico-bgp-exporter/") + kVersion);
  std::unique_ptr<kube::ClusterReader> reader;
  IntentService service(
      &clock, [&reader] { return reader->View(); }, [&reader] { return reader->Stats(); });
  reader =
      std::make_unique<kube::ClusterReader>(c.reader, &http, kube::TokenSourceFor(c.credentials),
                                            &clock, &Random01, [&service] { service.Changed(); });
  IntentPages pages(f.telemetry_path, &service);
  WebServer::StartResult started = WebServer::Start(
      {c.listen_address, f.telemetry_path, f.web_config_file, kIntentServeWebThreads}, &pages);
  if (!started.server) {
    for (const auto& e : started.errors) {
      std::cerr << e << "\n";
    }
    return started.exit_code;
  }
  logging::Info("starting calico-bgp-exporter intent serve",
                {{"version", kVersion},
                 {"revision", kRevision},
                 {"address", f.listen_address},
                 {"api_server", c.credentials.server},
                 {"credentials", c.credentials.source}});
  service.Start();
  reader->Start();
  // As the daemon: start-up's code and the dynamic linker's tables out of memory.
  GiveBackStartupPages("start-up");
  SignalLoop(signals, *started.server);
  // As the node exporter: leave at once; the kernel closes the sockets. Requests in flight are
  // cut, which a watch or LIST survives (the API server sees a closed connection).
  spdlog::default_logger_raw()->flush();
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace

int RunIntentServe(const std::vector<std::string>& args) {
  ServeFlags f;
  if (std::optional<int> done = ParseFlags(args, f)) {
    return *done;
  }
  const auto format = logging::ParseFormat(f.log_format);
  const auto level = logging::ParseLevel(f.log_level);
  if (!format || !level) {
    std::cerr << kName
              << ": --log.format must be logfmt or json and --log.level one of debug, info, "
                 "warn, error\n";
    return kExitUsage;
  }
  logging::Init(*format, *level);
  std::optional<Checked> checked = Check(f);
  if (!checked) {
    return kExitUsage;
  }
  if (f.config_check) {
    std::cout << "flags OK; API server " << checked->credentials.server << " ("
              << checked->credentials.source << ")"
              << (f.web_config_file.empty() ? "" : "; web config " + f.web_config_file + " OK")
              << "\n";
    return 0;
  }
  return Serve(f, std::move(*checked));
}

}  // namespace cbe
