#include "exporter/web/web_server.h"

#include <CivetServer.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "exporter/base/logging.h"
#include "exporter/config/config.h"
#include "exporter/web/web_crypto.h"

namespace cbe {
namespace {

// civetweb's request_timeout_ms: how long a client may take to send a request and read the
// answer before its thread is freed.
constexpr int kRequestTimeoutMs = 10000;
// civetweb's max_request_size: request line and headers; larger gets 400. Allocated and zeroed
// per thread (civetweb's default: 16 KiB).
constexpr int kMaxRequestBytes = 8192;

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

// Where a person reaches the server: "http://localhost:10179" for every address (an empty host),
// "https://[::1]:10179" ...
std::string BaseUrl(const ListenAddress& listen, int port, bool tls) {
  const std::string host = listen.host.empty()                          ? "localhost"
                           : listen.host.find(':') != std::string::npos ? "[" + listen.host + "]"
                                                                        : listen.host;
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

// civetweb's external_ssl_ctx callback, called only for a TLS port (whose web config loaded the
// web crypto plugin already): the plugin's.
int ExternalSslContextOfPlugin(void** ssl_ctx, void* user_data) {
  auto crypto = WebCrypto();
  if (!crypto) {
    return *ssl_ctx == nullptr ? -1 : 1;  // No context to give; none to drop.
  }
  return (*crypto)->external_ssl_context(ssl_ctx, user_data);
}

}  // namespace

WebServer::WebServer(WebServerOptions options, WebPages* pages)
    : options_(std::move(options)), listening_(options_.listen_address), pages_(pages) {
  callbacks_ = *pages_->Callbacks();
  callbacks_.external_ssl_ctx = &ExternalSslContextOfPlugin;
  access_ = std::make_shared<Access>(Access{AllowEveryone(), ""});
}

WebServer::StartResult WebServer::Start(WebServerOptions options, WebPages* pages) {
  StartResult r;
  std::unique_ptr<WebServer> s(new WebServer(std::move(options), pages));
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
    s->access_ = std::make_shared<Access>(Access{loaded->auth, HeaderLines(loaded->config.http)});
    pages->SetAccess(s.get());
    if (std::string err = s->StartCivetweb(*loaded); !err.empty()) {
      pages->SetAccess(nullptr);
      logging::Error("cannot listen",
                     {{"address", s->options_.listen_address.ToString()}, {"err", err}});
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
  civetweb_.reset();
  pages_->SetAccess(nullptr);
}

std::vector<int> WebServer::ListeningPorts() const {
  std::lock_guard lock(server_mutex_);
  return civetweb_ ? civetweb_->getListeningPorts() : std::vector<int>{};
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
  if (!loaded.config.tls.enabled && loaded.config.basic_auth_users.empty()) {
    return loaded;  // Plain HTTP for everyone: no OpenSSL, no libcrypt.
  }
  auto crypto = WebCrypto();
  if (!crypto) {
    return Error{file + ": " + crypto.error().message};
  }
  if (!loaded.config.basic_auth_users.empty()) {
    loaded.auth = (*crypto)->make_basic_auth(loaded.config.basic_auth_users);
  }
  if (loaded.config.tls.enabled) {
    auto tls = (*crypto)->build_server_tls_context(loaded.config.tls);
    if (!tls) {
      return Error{file + ": " + tls.error().message};
    }
    tls->warnings.insert(tls->warnings.begin(), loaded.tls.warnings.begin(),
                         loaded.tls.warnings.end());
    loaded.tls = std::move(*tls);
  }
  return loaded;
}

std::string WebServer::StartCivetweb(const Loaded& loaded) {
  civetweb_.reset();
  const bool tls = loaded.config.tls.enabled;
  const WebCryptoApi* crypto = nullptr;
  if (tls) {
    auto api = WebCrypto();  // Loaded by Load() already.
    if (!api) {
      return api.error().message;
    }
    crypto = *api;
    auto prepared = crypto->prepare_civetweb_tls();
    if (!prepared) {
      return prepared.error().message;
    }
    crypto->set_pending_server_tls(loaded.tls.ctx);
  }
  std::unique_ptr<CivetServer> server;
  try {
    server = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", listening_.CivetwebPorts() + (tls ? "s" : ""),
                                 "num_threads", std::to_string(options_.threads),
                                 "request_timeout_ms", std::to_string(kRequestTimeoutMs),
                                 "max_request_size", std::to_string(kMaxRequestBytes)},
        &callbacks_);
  } catch (const std::exception& e) {
    if (crypto != nullptr) {
      crypto->set_pending_server_tls(nullptr);
    }
    return e.what();
  }
  if (crypto != nullptr) {
    crypto->set_pending_server_tls(nullptr);  // civetweb holds its own reference.
  }
  const std::vector<int> ports = server->getListeningPorts();
  // Port 0 picked a port: keep it across restarts.
  if (listening_.port == 0 && !ports.empty()) {
    listening_.port = static_cast<std::uint16_t>(ports.front());
  }
  civetweb_ = std::move(server);
  std::string port_list;
  for (int p : ports) {
    port_list += (port_list.empty() ? "" : ",") + std::to_string(p);
  }
  logging::Info("HTTP server listening",
                {{"address", options_.listen_address.ToString()},
                 {"ports", port_list},
                 {"protocol", Describe(loaded.config)},
                 {"basic_auth_users", std::to_string(loaded.config.basic_auth_users.size())},
                 {"certificate", loaded.tls.certificate_summary}});
  if (!ports.empty()) {
    const std::string base = BaseUrl(listening_, ports.front(), tls);
    logging::Info("serving", {{"metrics", base + options_.telemetry_path},
                              {"health", base + "/healthz"},
                              {"runbook", base + "/runbook"},
                              {"sessions", base + "/"}});
  }
  return "";
}

void WebServer::KeepRunning(std::size_t fingerprint, const std::string& error) {
  std::istringstream lines(error);
  for (std::string line; std::getline(lines, line);) {
    logging::Error("web config not applied, keeping the running one",
                   {{"file", options_.web_config_file}, {"err", line}});
  }
  last_failed_fingerprint_ = fingerprint;
  if (!civetweb_) {
    // The server is down after a failed restart: bring the running config back.
    if (std::string err = StartCivetweb(running_); !err.empty()) {
      logging::Error("HTTP server down",
                     {{"address", options_.listen_address.ToString()}, {"err", err}});
    }
  }
}

std::shared_ptr<const WebServer::Access> WebServer::SwapAccess(
    std::shared_ptr<const Access> access) {
  std::lock_guard a(access_mutex_);
  std::swap(access_, access);
  return access;
}

bool WebServer::Reload() {
  std::lock_guard lock(server_mutex_);
  const std::string& file = options_.web_config_file;
  if (file.empty()) {
    return true;
  }
  const std::size_t fp = Fingerprint();
  if (fp == running_.fingerprint && civetweb_) {
    return true;
  }
  auto loaded = Load();
  if (!loaded) {
    KeepRunning(fp, loaded.error().message);
    return false;
  }
  for (const auto& w : loaded->tls.warnings) {
    logging::Warn("web config", {{"file", file}, {"warning", w}});
  }
  // Users and headers apply to the next request (Access); only TLS needs a new server.
  const bool restart = !civetweb_ || loaded->tls_fingerprint != running_.tls_fingerprint ||
                       loaded->config.tls != running_.config.tls;
  auto old_access = SwapAccess(
      std::make_shared<const Access>(Access{loaded->auth, HeaderLines(loaded->config.http)}));
  if (restart) {
    logging::Info("restarting the HTTP server for the new web config",
                  {{"file", file}, {"protocol", Describe(loaded->config)}});
    if (std::string err = StartCivetweb(*loaded); !err.empty()) {
      SwapAccess(std::move(old_access));
      KeepRunning(fp, err);
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
      due = !civetweb_ || (fp != running_.fingerprint && fp != last_failed_fingerprint_);
    }
    // At debug level every poll says so: a test can wait for polls instead of sleeping.
    logging::Debug("web config polled", {{"due", due ? "true" : "false"}});
    if (due) {
      Reload();
    }
    lock.lock();
  }
}

}  // namespace cbe
