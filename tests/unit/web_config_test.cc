#include "exporter/config/web_config.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cbe {
namespace {

constexpr const char* kHash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

std::vector<std::string> Errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& e : ParseWebConfig(yaml, "/etc/cbe").errors) {
    out.push_back(e.Format("web.yml"));
  }
  return out;
}

TEST_CASE("an empty web config: plain HTTP, no authentication", "[unit]") {
  for (const char* yaml : {"", "# nothing\n", "~\n"}) {
    const auto r = ParseWebConfig(yaml, "/etc/cbe");
    CHECK(r.ok());
    CHECK_FALSE(r.config.tls.enabled);
    CHECK(r.config.basic_auth_users.empty());
  }
}

TEST_CASE("a full web config", "[unit]") {
  const auto r = ParseWebConfig(std::string(R"(
tls_server_config:
  cert_file: tls/server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca/clients.crt
  client_allowed_sans: [prometheus.monitoring.svc, 10.0.0.1]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  zed: )") + kHash + "\n  alice: " + kHash +
                                    "\n",
                                "/etc/cbe");
  REQUIRE(r.ok());
  const TlsServerConfig& tls = r.config.tls;
  CHECK(tls.enabled);
  CHECK(tls.cert_file == "/etc/cbe/tls/server.crt");
  CHECK(tls.key_file == "/abs/server.key");
  CHECK(tls.client_ca_file == "/etc/ca/clients.crt");
  CHECK(tls.client_auth == ClientAuth::kRequireAndVerifyClientCert);
  CHECK(tls.client_allowed_sans ==
        std::vector<std::string>{"prometheus.monitoring.svc", "10.0.0.1"});
  CHECK(tls.min_version == TlsVersion::kTls13);
  CHECK(tls.max_version == TlsVersion::kTls13);
  CHECK(tls.cipher_suites == std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
  CHECK_FALSE(tls.prefer_server_cipher_suites);
  CHECK(tls.curve_preferences == std::vector<std::string>{"X25519", "P-256"});
  CHECK_FALSE(r.config.http.http2);
  // Blank values unset a header.
  CHECK(r.config.http.headers ==
        std::vector<std::pair<std::string, std::string>>{
            {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}});
  // Sorted by user.
  REQUIRE(r.config.basic_auth_users.size() == 2);
  CHECK(r.config.basic_auth_users[0].first == "alice");
  CHECK(r.config.basic_auth_users[1].first == "zed");
  CHECK(r.config.basic_auth_users[1].second == kHash);
}

TEST_CASE("TLS defaults and inline PEM", "[unit]") {
  const auto r = ParseWebConfig(
      "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n  key_file: k.pem\n", "");
  REQUIRE(r.ok());
  CHECK(r.config.tls.cert == "-----BEGIN CERTIFICATE-----\n");
  CHECK(r.config.tls.key_file == "k.pem");  // No base directory: as given.
  CHECK(r.config.tls.client_auth == ClientAuth::kNoClientCert);
  CHECK(r.config.tls.min_version == TlsVersion::kTls12);
  CHECK(r.config.tls.max_version == TlsVersion::kTls13);
  CHECK(r.config.tls.prefer_server_cipher_suites);
}

TEST_CASE("exporter-toolkit's old RequireClientCert spelling", "[unit]") {
  const auto r = ParseWebConfig(
      "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireClientCert\n",
      "/");
  REQUIRE(r.ok());
  CHECK(r.config.tls.client_auth == ClientAuth::kRequireAnyClientCert);
}

TEST_CASE("tls_server_config without any certificate key serves plain HTTP, with a warning",
          "[unit]") {
  const auto r = ParseWebConfig("tls_server_config:\n  min_version: TLS13\n", "/");
  REQUIRE(r.ok());
  CHECK_FALSE(r.config.tls.enabled);
  CHECK(r.warnings ==
        std::vector<std::string>{"tls_server_config names no certificate: serving plain HTTP"});
}

// As blackbox_exporter's TestLoadBadConfigs: each invalid file with its exact messages.
TEST_CASE("invalid web configs", "[unit]") {
  struct Case {
    std::string yaml;
    std::vector<std::string> errors;
  };
  const std::string h = kHash;
  const std::vector<Case> cases = {
      {"tls_server_config: [\n", {"web.yml:2:1: invalid YAML: end of sequence flow not found"}},
      {"- a\n", {"web.yml:1:1: must be a map"}},
      {"tls_config:\n  cert_file: x\n",
       {"web.yml:1:1: tls_config: unknown key (expected one of: tls_server_config, "
        "http_server_config, basic_auth_users)"}},
      {"rate_limit:\n  interval: 1s\n",
       {"web.yml:1:1: rate_limit: not supported by calico-bgp-exporter"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  cert_file: d\n",
       {"web.yml:4:3: tls_server_config.cert_file: duplicate key"}},
      {"tls_server_config:\n  cert_file: c\n  keyfile: k\n",
       {"web.yml:3:3: tls_server_config.keyfile: unknown key (expected one of: cert_file, "
        "key_file, cert, key, client_ca_file, client_ca, client_auth_type, client_allowed_sans, "
        "min_version, max_version, cipher_suites, prefer_server_cipher_suites, "
        "curve_preferences)",
        "web.yml:2:3: tls_server_config.key_file: missing one of key_file or key"}},
      {"tls_server_config:\n  key_file: k\n",
       {"web.yml:2:3: tls_server_config.cert_file: missing one of cert_file or cert"}},
      {"tls_server_config:\n  cert_file: c\n  cert: x\n  key_file: k\n",
       {"web.yml:3:9: tls_server_config.cert: set either cert or cert_file, not both"}},
      {"tls_server_config:\n  cert_file: \"\"\n  key_file: k\n",
       {"web.yml:2:14: tls_server_config.cert_file: must be a non-empty string"}},
      {"tls_server_config:\n  cert_file: [a]\n  key_file: k\n",
       {"web.yml:2:14: tls_server_config.cert_file: must be a non-empty string"}},
      {"tls_server_config:\n  cert_file: ~\n  key_file: k\n",
       {"web.yml:2:3: tls_server_config.cert_file: missing one of cert_file or cert"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: MutualTLS\n",
       {"web.yml:4:21: tls_server_config.client_auth_type: unknown value \"MutualTLS\" (expected "
        "one of: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
        "RequireAndVerifyClientCert)"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  client_auth_type: RequireAndVerifyClientCert\n",
       {"web.yml:4:21: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
        "client_ca_file (or client_ca): the CA certificates that sign client certificates"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  client_auth_type: VerifyClientCertIfGiven\n",
       {"web.yml:4:21: tls_server_config.client_auth_type: VerifyClientCertIfGiven needs "
        "client_ca_file (or client_ca): the CA certificates that sign client certificates"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca.crt\n",
       {"web.yml:4:19: tls_server_config.client_ca_file: a client CA needs a client_auth_type "
        "other than NoClientCert"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca.crt\n"
       "  client_ca: x\n  client_auth_type: RequireAndVerifyClientCert\n",
       {"web.yml:5:14: tls_server_config.client_ca: set either client_ca or client_ca_file, not "
        "both"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_allowed_sans: [a]\n"
       "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n",
       {"web.yml:4:24: tls_server_config.client_allowed_sans: needs client_auth_type "
        "RequireAnyClientCert or RequireAndVerifyClientCert"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n",
       {"web.yml:4:16: tls_server_config.min_version: TLS11 is not supported (OpenSSL 3 refuses "
        "TLS 1.0 and 1.1 at its default security level): use TLS12 or TLS13"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  max_version: TLS1.3\n",
       {"web.yml:4:16: tls_server_config.max_version: unknown TLS version \"TLS1.3\" (expected "
        "TLS12 or TLS13)"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n"
       "  max_version: TLS12\n",
       {"web.yml:5:16: tls_server_config.max_version: must not be lower than min_version "
        "(TLS13)"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  cipher_suites: [TLS_AES_128_GCM_SHA256, RC4, \"\"]\n",
       {"web.yml:4:19: tls_server_config.cipher_suites[0]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 "
        "suite: only TLS 1.2 suites can be chosen (as in exporter-toolkit)",
        "web.yml:4:43: tls_server_config.cipher_suites[1]: unknown cipher suite \"RC4\" (use Go's "
        "names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
        "web.yml:4:48: tls_server_config.cipher_suites[2]: must be a non-empty string"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: TLS_X\n",
       {"web.yml:4:18: tls_server_config.cipher_suites: must be a list of strings"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  curve_preferences: [P-256]\n",
       {"web.yml:4:23: tls_server_config.curve_preferences[0]: unknown curve \"P-256\" (expected "
        "one of: CurveP256, CurveP384, CurveP521, X25519)"}},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  prefer_server_cipher_suites: "
       "maybe\n",
       {"web.yml:4:32: tls_server_config.prefer_server_cipher_suites: must be true or false"}},
      {"http_server_config:\n  http2: yes please\n",
       {"web.yml:2:10: http_server_config.http2: must be true or false"}},
      {"http_server_config:\n  headers:\n    Server: civetweb\n",
       {"web.yml:3:5: http_server_config.headers.Server: HTTP header \"Server\" can not be "
        "configured (allowed: Strict-Transport-Security, X-Content-Type-Options, "
        "X-Frame-Options, X-XSS-Protection, Content-Security-Policy)"}},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       {"web.yml:3:22: http_server_config.headers.X-Frame-Options: invalid value \"allow\" "
        "(expected one of: deny, sameorigin)"}},
      {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       {"web.yml:3:29: http_server_config.headers.X-Content-Type-Options: invalid value "
        "\"sniff\" (expected one of: nosniff)"}},
      {"http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
       {"web.yml:3:30: http_server_config.headers.Content-Security-Policy: must not contain "
        "line breaks"}},
      {"http_server_config:\n  headers: [a]\n",
       {"web.yml:2:12: http_server_config.headers: must be a map of header names to values"}},
      {"basic_auth_users: [alice]\n",
       {"web.yml:1:19: basic_auth_users: must be a map of user names to bcrypt hashes"}},
      {"basic_auth_users:\n  alice: secret\n",
       {"web.yml:2:10: basic_auth_users.alice: must be a bcrypt hash ($2y$, $2b$ or $2a$, cost "
        "04-31), e.g. from htpasswd -nBC 10 \"\" | tr -d ':\\n'"}},
      {"basic_auth_users:\n  alice:\n",
       {"web.yml:2:3: basic_auth_users.alice: must be a bcrypt hash ($2y$, $2b$ or $2a$, cost "
        "04-31), e.g. from htpasswd -nBC 10 \"\" | tr -d ':\\n'"}},
      {"basic_auth_users:\n  alice: $1$abc$def\n",
       {"web.yml:2:10: basic_auth_users.alice: must be a bcrypt hash ($2y$, $2b$ or $2a$, cost "
        "04-31), e.g. from htpasswd -nBC 10 \"\" | tr -d ':\\n'"}},
      {"basic_auth_users:\n  \"a:b\": " + h + "\n",
       {"web.yml:2:3: basic_auth_users.a:b: a user name must not contain ':' (basic auth splits "
        "at the first)"}},
      {"basic_auth_users:\n  \"\": " + h + "\n",
       {"web.yml:2:3: basic_auth_users: a user name must not be empty"}},
      {"basic_auth_users:\n  alice: " + h + "\n  alice: " + h + "\n",
       {"web.yml:3:3: basic_auth_users.alice: listed twice"}},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    CHECK(Errors(c.yaml) == c.errors);
  }
}

TEST_CASE("an invalid web config yields no partial config", "[unit]") {
  const auto r =
      ParseWebConfig(std::string("basic_auth_users:\n  alice: ") + kHash + "\n  bob: plain\n", "/");
  CHECK_FALSE(r.ok());
  CHECK(r.config.basic_auth_users.empty());
}

TEST_CASE("IsBcryptHash", "[unit]") {
  CHECK(IsBcryptHash(kHash));
  CHECK(IsBcryptHash("$2b$04$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa"));
  CHECK(IsBcryptHash("$2a$31$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa"));
  CHECK_FALSE(IsBcryptHash("$2x$10$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa"));
  CHECK_FALSE(IsBcryptHash("$2b$03$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa"));
  CHECK_FALSE(IsBcryptHash("$2b$32$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa"));
  CHECK_FALSE(IsBcryptHash("$2b$10$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWI"));
  CHECK_FALSE(IsBcryptHash("$2b$10$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWI!"));
  CHECK_FALSE(IsBcryptHash("$6$salt$hash"));
  CHECK_FALSE(IsBcryptHash(""));
}

TEST_CASE("LoadWebConfigFile: an unreadable file", "[unit]") {
  const auto r = LoadWebConfigFile("/nonexistent/web.yml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].Format("/nonexistent/web.yml") ==
        "/nonexistent/web.yml: cannot read the web config file");
}

}  // namespace
}  // namespace cbe
