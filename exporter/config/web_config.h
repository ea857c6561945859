#pragma once

// The web config file (--web.config.file) in exporter-toolkit's format
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md):
//
//   tls_server_config:
//     cert_file: server.crt            # relative paths are relative to this file's directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: clients-ca.crt
//     min_version: TLS12
//   http_server_config:
//     headers:
//       X-Frame-Options: deny
//   basic_auth_users:
//     prometheus: $2y$10$...           # bcrypt, e.g. htpasswd -nBC 10 "" | tr -d ':\n'
//
// The loader is pure: it checks the document, never reads the files it names (tls_context does).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/config/config.h"

namespace cbe {

// exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,        // Asks for a certificate, accepts none or any (not verified).
  kRequireAnyClientCert,     // Requires a certificate, any (not verified).
  kVerifyClientCertIfGiven,  // Accepts none; a given one must verify against the client CA.
  kRequireAndVerifyClientCert,
};

std::string_view ClientAuthName(ClientAuth auth);

// The protocol versions as on the wire (TLS 1.2 = 0x0303), which is also OpenSSL's numbering.
enum class TlsVersion { kTls12 = 0x0303, kTls13 = 0x0304 };

std::string_view TlsVersionName(TlsVersion version);

struct TlsServerConfig {
  bool enabled = false;  // Any TLS key given: the server speaks only TLS.
  // PEM files, made absolute against the web config's directory; or the PEM text inline.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string cert;
  std::string key;
  std::string client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // TLS 1.2 cipher suites, translated from Go's (IANA) names to OpenSSL's. Empty: OpenSSL's.
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  // Key exchange groups in OpenSSL's spelling ("X25519", "P-256"). Empty: OpenSSL's.
  std::vector<std::string> curve_preferences;
  // A client certificate must carry one of these SANs (DNS, IP, e-mail or URI), exact match.
  std::vector<std::string> client_allowed_sans;

  bool operator==(const TlsServerConfig&) const = default;
};

struct HttpServerConfig {
  bool http2 = true;  // Accepted for compatibility; civetweb serves HTTP/1.1 only.
  // Extra response headers, in file order. Only exporter-toolkit's five are allowed.
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const HttpServerConfig&) const = default;
};

struct WebConfig {
  TlsServerConfig tls;
  HttpServerConfig http;
  // user -> bcrypt hash, sorted by user. Empty: no authentication.
  std::vector<std::pair<std::string, std::string>> basic_auth_users;

  bool operator==(const WebConfig&) const = default;
};

struct WebConfigResult {
  WebConfig config;
  std::vector<ConfigError> errors;  // All of them at once. Empty: valid.
  std::vector<std::string> warnings;
  bool ok() const { return errors.empty(); }
};

// Parses and validates a web config. Relative file names are joined to `base_dir` (the web
// config's directory). An empty document is valid: plain HTTP, no authentication.
WebConfigResult ParseWebConfig(std::string_view yaml, std::string_view base_dir);

// Reads `path` and parses it. An unreadable file is one error at line 0.
WebConfigResult LoadWebConfigFile(const std::string& path);

// True for a bcrypt hash crypt(3) can check: $2a$, $2b$ or $2y$, cost 04-31, 53 characters.
bool IsBcryptHash(std::string_view hash);

}  // namespace cbe
