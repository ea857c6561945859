#include "exporter/web/web_server.h"

#include <prometheus/exposer.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "exporter/base/logging.h"
#include "exporter/config/config.h"
#include "exporter/config/listen_address.h"

namespace cbe {
namespace {

std::size_t Mix(std::size_t seed, std::string_view text) {
  return seed ^
         (std::hash<std::string_view>{}(text) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// The files a TLS config names, with their contents: a renewed certificate restarts the server.
std::size_t TlsFingerprint(const TlsServerConfig& tls) {
  std::size_t fp = tls.enabled ? 1 : 0;
  for (const std::string* f : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    fp = Mix(fp, *f);
    if (!f->empty()) {
      fp = Mix(fp, ReadTextFile(*f).value_or("<unreadable>"));
    }
  }
  return fp;
}

std::string HeaderLines(const HttpServerConfig& http) {
  std::string out;
  for (const auto& [name, value] : http.headers) {
    if (name == "X-Content-Type-Options") {
      continue;  // The pages always send nosniff, its only allowed value.
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
  return out;
}

// "127.0.0.1:0" -> "127.0.0.1:43121" once civetweb picked 43121; other ports unchanged.
std::string KeepPickedPort(const std::string& civetweb_ports, int picked) {
  const auto sep = civetweb_ports.find_last_of(":+");
  const std::string digits =
      sep == std::string::npos ? civetweb_ports : civetweb_ports.substr(sep + 1);
  if (digits != "0") {
    return civetweb_ports;
  }
  return civetweb_ports.substr(0, sep == std::string::npos ? 0 : sep + 1) + std::to_string(picked);
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += (out.empty() ? "" : "\n") + l;
  }
  return out;
}

std::string Describe(const WebConfig& c) {
  if (!c.tls.enabled) {
    return "http";
  }
  return "https min_version=" + std::string(TlsVersionName(c.tls.min_version)) +
         " max_version=" + std::string(TlsVersionName(c.tls.max_version)) +
         " client_auth_type=" + std::string(ClientAuthName(c.tls.client_auth));
}

}  // namespace

WebServer::WebServer(WebServerOptions options, HttpPages* pages,
                     std::shared_ptr<prometheus::Collectable> collector)
    : options_(std::move(options)), pages_(pages), collector_(std::move(collector)) {
  callbacks_ = *pages_->Callbacks();
  callbacks_.external_ssl_ctx = &ExternalSslContext;
  access_ = std::make_shared<Access>(
      Access{std::make_shared<BasicAuth>(std::vector<std::pair<std::string, std::string>>{}), ""});
}

WebServer::StartResult WebServer::Start(WebServerOptions options, HttpPages* pages,
                                        std::shared_ptr<prometheus::Collectable> collector) {
  StartResult r;
  const auto port = CivetwebListeningPort(options.listen_address);
  if (!port) {
    r.exit_code = 2;
    r.errors.push_back(
        "calico-bgp-exporter: --web.listen-address: expected [host]:port with an IP address as "
        "host, got \"" +
        options.listen_address + "\"");
    return r;
  }
  std::unique_ptr<WebServer> s(new WebServer(std::move(options), pages, std::move(collector)));
  s->listening_ports_ = *port;
  auto loaded = s->Load();
  if (!loaded) {
    r.exit_code = 2;
    std::istringstream lines(loaded.error().message);
    for (std::string line; std::getline(lines, line);) {
      r.errors.push_back(line);
    }
    return r;
  }
  {
    std::lock_guard lock(s->server_mutex_);
    for (const auto& w : loaded->tls.warnings) {
      logging::Warn("web config", {{"file", s->options_.web_config_file}, {"warning", w}});
    }
    s->access_ = std::make_shared<Access>(
        Access{std::make_shared<BasicAuth>(loaded->config.basic_auth_users),
               HeaderLines(loaded->config.http)});
    pages->SetAccess(s.get());
    if (std::string err = s->StartExposer(*loaded); !err.empty()) {
      pages->SetAccess(nullptr);
      logging::Error("cannot listen", {{"address", s->options_.listen_address}, {"err", err}});
      r.exit_code = 1;
      return r;
    }
    s->running_ = std::move(*loaded);
  }
  if (!s->options_.web_config_file.empty() && s->options_.watch_interval.count() > 0) {
    s->watcher_ = std::thread([srv = s.get()] { srv->Watch(); });
  }
  r.server = std::move(s);
  return r;
}

WebServer::~WebServer() {
  {
    std::lock_guard lock(watch_mutex_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) {
    watcher_.join();
  }
  std::lock_guard lock(server_mutex_);
  exposer_.reset();
  pages_->SetAccess(nullptr);
}

std::vector<int> WebServer::ListeningPorts() const {
  std::lock_guard lock(server_mutex_);
  return exposer_ ? exposer_->GetListeningPorts() : std::vector<int>{};
}

std::size_t WebServer::Fingerprint() const {
  if (options_.web_config_file.empty()) {
    return 0;
  }
  const auto text = ReadTextFile(options_.web_config_file);
  if (!text) {
    return Mix(1, "<unreadable>");
  }
  std::size_t fp = Mix(2, *text);
  const WebConfigResult parsed =
      ParseWebConfig(*text, std::filesystem::path(options_.web_config_file).parent_path().string());
  if (parsed.ok()) {
    fp = Mix(fp, std::to_string(TlsFingerprint(parsed.config.tls)));
  }
  return fp;
}

Result<WebServer::Loaded> WebServer::Load() const {
  Loaded loaded;
  const std::string& file = options_.web_config_file;
  if (file.empty()) {
    return loaded;
  }
  loaded.fingerprint = Fingerprint();
  const WebConfigResult result = LoadWebConfigFile(file);
  if (!result.ok()) {
    std::vector<std::string> lines;
    for (const auto& e : result.errors) {
      lines.push_back(e.Format(file));
    }
    return Error{JoinLines(lines)};
  }
  loaded.config = result.config;
  loaded.tls_fingerprint = TlsFingerprint(loaded.config.tls);
  for (const auto& w : result.warnings) {
    loaded.tls.warnings.push_back(w);
  }
  if (loaded.config.tls.enabled) {
    auto tls = BuildServerTlsContext(loaded.config.tls);
    if (!tls) {
      return Error{file + ": " + tls.error().message};
    }
    tls->warnings.insert(tls->warnings.begin(), loaded.tls.warnings.begin(),
                         loaded.tls.warnings.end());
    loaded.tls = std::move(*tls);
  }
  return loaded;
}

std::string WebServer::StartExposer(const Loaded& loaded) {
  exposer_.reset();
  const bool tls = loaded.config.tls.enabled;
  if (tls) {
    auto prepared = PrepareCivetwebTls();
    if (!prepared) {
      return prepared.error().message;
    }
  }
  SetPendingServerTls(loaded.tls.ctx);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listening_ports_ + (tls ? "s" : ""),
                                 "num_threads", std::to_string(options_.threads),
                                 "request_timeout_ms", "10000",
                                 // Request line and headers; larger: 400. Allocated and
                                 // zeroed per thread (civetweb's default: 16 KiB).
                                 "max_request_size", "8192"},
        &callbacks_);
  } catch (const std::exception& e) {
    SetPendingServerTls(nullptr);
    return e.what();
  }
  SetPendingServerTls(nullptr);  // civetweb holds its own reference.
  exposer->RegisterCollectable(collector_, options_.telemetry_path);
  if (!loaded.config.basic_auth_users.empty()) {
    // The begin_request callback checks first; this guards the telemetry path on its own too.
    exposer->RegisterAuth(
        [this](const std::string& user, const std::string& password) {
          std::shared_ptr<const Access> a;
          {
            std::lock_guard lock(access_mutex_);
            a = access_;
          }
          return !a->auth->enabled() || a->auth->Check(user, password);
        },
        std::string(kAuthRealm), options_.telemetry_path);
  }
  // Port 0 picked a port: keep it across restarts.
  if (const auto ports = exposer->GetListeningPorts(); !ports.empty()) {
    listening_ports_ = KeepPickedPort(listening_ports_, ports.front());
  }
  exposer_ = std::move(exposer);
  std::string ports;
  for (int p : exposer_->GetListeningPorts()) {
    ports += (ports.empty() ? "" : ",") + std::to_string(p);
  }
  logging::Info("HTTP server listening",
                {{"address", options_.listen_address},
                 {"ports", ports},
                 {"protocol", Describe(loaded.config)},
                 {"basic_auth_users", std::to_string(loaded.config.basic_auth_users.size())},
                 {"certificate", loaded.tls.certificate_summary}});
  return "";
}

bool WebServer::Reload() {
  std::lock_guard lock(server_mutex_);
  const std::string& file = options_.web_config_file;
  if (file.empty()) {
    return true;
  }
  const std::size_t fp = Fingerprint();
  if (fp == running_.fingerprint && exposer_) {
    return true;
  }
  auto loaded = Load();
  if (!loaded) {
    std::istringstream lines(loaded.error().message);
    for (std::string line; std::getline(lines, line);) {
      logging::Error("web config not applied, keeping the running one", {{"err", line}});
    }
    last_failed_fingerprint_ = fp;
    if (!exposer_) {
      // The server is down after a failed restart: bring the running config back.
      if (std::string err = StartExposer(running_); !err.empty()) {
        logging::Error("HTTP server down", {{"address", options_.listen_address}, {"err", err}});
      }
    }
    return false;
  }
  for (const auto& w : loaded->tls.warnings) {
    logging::Warn("web config", {{"file", file}, {"warning", w}});
  }
  const bool restart =
      !exposer_ || loaded->tls_fingerprint != running_.tls_fingerprint ||
      loaded->config.tls != running_.config.tls ||
      loaded->config.basic_auth_users.empty() != running_.config.basic_auth_users.empty();
  auto access = std::make_shared<const Access>(
      Access{std::make_shared<BasicAuth>(loaded->config.basic_auth_users),
             HeaderLines(loaded->config.http)});
  std::shared_ptr<const Access> old_access;
  {
    std::lock_guard a(access_mutex_);
    old_access = access_;
    access_ = access;
  }
  if (restart) {
    logging::Info("restarting the HTTP server for the new web config",
                  {{"file", file}, {"protocol", Describe(loaded->config)}});
    if (std::string err = StartExposer(*loaded); !err.empty()) {
      logging::Error("web config not applied, keeping the running one",
                     {{"file", file}, {"err", err}});
      {
        std::lock_guard a(access_mutex_);
        access_ = old_access;
      }
      last_failed_fingerprint_ = fp;
      if (std::string again = StartExposer(running_); !again.empty()) {
        logging::Error("HTTP server down", {{"address", options_.listen_address}, {"err", again}});
      }
      return false;
    }
  }
  logging::Info("web config applied",
                {{"file", file},
                 {"basic_auth_users", std::to_string(loaded->config.basic_auth_users.size())},
                 {"restarted", restart ? "true" : "false"}});
  running_ = std::move(*loaded);
  running_.fingerprint = fp;
  last_failed_fingerprint_ = 0;
  return true;
}

bool WebServer::Authorized(const char* authorization) const {
  std::shared_ptr<const Access> a;
  {
    std::lock_guard lock(access_mutex_);
    a = access_;
  }
  return a->auth->CheckHeader(authorization);
}

std::string WebServer::ExtraHeaders() const {
  std::lock_guard lock(access_mutex_);
  return access_->headers;
}

void WebServer::Watch() {
  std::unique_lock lock(watch_mutex_);
  while (!watch_cv_.wait_for(lock, options_.watch_interval, [this] { return stopping_; })) {
    lock.unlock();
    std::size_t fp = Fingerprint();
    bool due = false;
    {
      std::lock_guard s(server_mutex_);
      due = !exposer_ || (fp != running_.fingerprint && fp != last_failed_fingerprint_);
    }
    if (due) {
      Reload();
    }
    lock.lock();
  }
}

}  // namespace cbe
