#pragma once

// TLS and basic auth need OpenSSL and libcrypt, about 1.7 MiB of RSS that every node would pay
// for nothing: most exporters serve plain HTTP to a Prometheus in their cluster. Their code
// (tls_context.cc, basic_auth.cc) lives in the web crypto plugin, calico-bgp-exporter-tls.so,
// which the web server loads the first time a web config asks for TLS or users.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exporter/base/result.h"
#include "exporter/config/web_config.h"

struct ssl_ctx_st;

namespace cbe {

struct ServerTlsContext {
  std::shared_ptr<ssl_ctx_st> ctx;    // An SSL_CTX*; the last reference frees it.
  std::string certificate_summary;    // "subject=... not_after=..." for the logs.
  std::vector<std::string> warnings;  // E.g. an expired certificate (served anyway).
};

// Who may ask: basic auth against the web config's users, or everybody.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual bool enabled() const = 0;
  // Checks an Authorization header (nullptr: none). True when authentication is off.
  virtual bool CheckHeader(const char* authorization) const = 0;
};

// No users: every request is allowed (needs no plugin).
std::shared_ptr<const Authenticator> AllowEveryone();

using BasicAuthUsers = std::vector<std::pair<std::string, std::string>>;

// The plugin's entry points (tls_context.h and basic_auth.h say what each does).
struct WebCryptoApi {
  Result<ServerTlsContext> (*build_server_tls_context)(const TlsServerConfig& tls);
  Result<std::string> (*prepare_civetweb_tls)();
  int (*external_ssl_context)(void** ssl_ctx, void* user_data);
  void (*set_pending_server_tls)(std::shared_ptr<ssl_ctx_st> ctx);
  std::shared_ptr<const Authenticator> (*make_basic_auth)(const BasicAuthUsers& users);
};

inline constexpr const char* kWebCryptoPluginFile = "calico-bgp-exporter-tls.so";
inline constexpr const char* kWebCryptoSymbol = "cbe_plugin_web_crypto";

// The plugin's table, loaded on first use (once per process); an error says where it looked.
Result<const WebCryptoApi*> WebCrypto();

// The table the plugin exports (web_crypto_api.cc, linked into the plugin and the tests).
const WebCryptoApi& WebCryptoImplementation();

}  // namespace cbe
