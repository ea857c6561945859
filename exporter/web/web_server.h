#pragma once

// The HTTP(S) server: a civetweb server whose begin_request callback (HttpPages) answers every
// request, /metrics too, with the web config applied, and the web config kept current. The file
// and the certificate, key and client CA files it names are polled; SIGHUP can ask for a check at
// once (Reload). New basic-auth users and headers (turning authentication on or off too) apply to
// the next request; TLS changes restart the server in-process. A new file that does not load is
// logged and the running config kept.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/config/listen_address.h"
#include "exporter/config/web_config.h"
#include "exporter/web/http_pages.h"
#include "exporter/web/web_crypto.h"

class CivetServer;

namespace cbe {

// civetweb serves each connection on one of these threads for the whole request: clients that
// never read (or never finish a request) hold one each until the request timeout (10 s), so this
// many of them stall other scrapes that long; connections beyond wait in civetweb's queue. Its
// default of 2 stalls with 3 concurrent scrapers. A thread that has served a request keeps its
// max_request_size buffer and the ~24 KiB of stack civetweb touched (~32 KiB of RSS each), and
// civetweb hands new connections to its threads in turn, so over time every one of them has:
// the node exporter, on every node, keeps 8, four times the two scrapers of a Prometheus HA
// pair and as many as the bench's concurrent scrapers (bench/run prints the RSS after that
// phase; issue 19: 16 cost ~0.25 MiB more on every node, measured by hand).
inline constexpr int kWebThreads = 8;
// `intent serve`, one replica per cluster, answers every node's intent client.
inline constexpr int kIntentServeWebThreads = 64;

struct WebServerOptions {
  ListenAddress listen_address{"", 10179};  // --web.listen-address
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  // --web.config.file; empty: plain HTTP, no authentication.
  int threads = kWebThreads;
  std::chrono::milliseconds watch_interval{3000};  // Zero: only Reload() re-reads the file.
};

class WebServer : public PageAccess {
 public:
  struct StartResult {
    std::unique_ptr<WebServer> server;  // Null on failure.
    int exit_code = 0;                  // 2: usage or config error, 1: cannot listen.
    std::vector<std::string> errors;    // For stderr, e.g. "web.yml:3:5: key: message".
  };

  // Loads the web config and starts serving `pages` (the telemetry path and every other one),
  // which must outlive the server.
  static StartResult Start(WebServerOptions options, WebPages* pages);

  ~WebServer() override;
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  std::vector<int> ListeningPorts() const;

  // Re-reads the web config and the files it names now and applies what changed. True when the
  // running config is the file's (unchanged or applied); false when the file is kept out.
  bool Reload();

  // PageAccess, for every request on civetweb's threads.
  bool Authorized(const char* authorization) const override;
  std::string ExtraHeaders() const override;

 private:
  // What requests read: swapped whole under access_mutex_.
  struct Access {
    std::shared_ptr<const Authenticator> auth;
    std::string headers;  // "Name: value\r\n" lines.
  };
  // A loaded web config and the TLS context built from its files.
  struct Loaded {
    WebConfig config;
    ServerTlsContext tls;
    // Basic auth of its users, or everyone (also without a web config file).
    std::shared_ptr<const Authenticator> auth = AllowEveryone();
    std::size_t fingerprint = 0;      // Of the web config and the files it names.
    std::size_t tls_fingerprint = 0;  // Of the TLS files alone: a change restarts the server.
  };

  WebServer(WebServerOptions options, WebPages* pages);

  // Reads the web config and its files; errors already formatted.
  Result<Loaded> Load() const;
  std::size_t Fingerprint() const;
  // Replaces the running civetweb server with one for `loaded`. Returns the error on failure.
  std::string StartCivetweb(const Loaded& loaded);
  // A web config that cannot be applied: logs why (each line of `error`), remembers its
  // fingerprint so it is reported once, and brings the running config's server back if needed.
  void KeepRunning(std::size_t fingerprint, const std::string& error);
  // Installs `access` for the next requests; returns the one it replaced.
  std::shared_ptr<const Access> SwapAccess(std::shared_ptr<const Access> access);
  void Watch();

  WebServerOptions options_;
  ListenAddress listening_;  // options_'s, with the port the kernel picked for port 0.
  WebPages* pages_;
  CivetCallbacks callbacks_{};

  mutable std::mutex access_mutex_;
  std::shared_ptr<const Access> access_;

  mutable std::mutex server_mutex_;  // Held while loading and (re)starting.
  std::unique_ptr<CivetServer> civetweb_;
  Loaded running_;
  std::size_t last_failed_fingerprint_ = 0;

  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace cbe
