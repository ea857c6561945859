#include "exporter/config/web_config.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "exporter/config/yaml_schema.h"

namespace cbe {
namespace {

// A user name is printable: no C0 control characters and no DEL.
constexpr unsigned char kFirstPrintable = 0x20;
constexpr char kDelete = 0x7f;

constexpr std::string_view kBcryptHint =
    "must be a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31), e.g. from "
    "htpasswd -nBC 10 \"\" | tr -d ':\\n'";

// Go's crypto/tls names (IANA's) of the TLS 1.2 suites exporter-toolkit accepts, and OpenSSL's.
struct CipherName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CipherName kTls12Ciphers[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};
constexpr std::string_view kTls13Ciphers[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                              "TLS_CHACHA20_POLY1305_SHA256"};

struct CurveName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CurveName kCurves[] = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

// exporter-toolkit's configurable headers; an empty list allows any value.
struct AllowedHeader {
  std::string_view name;
  std::array<std::string_view, 2> values;  // Empty entries unused; all empty: any value.
};
constexpr AllowedHeader kAllowedHeaders[] = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

template <typename Names>
std::string JoinNames(const Names& names) {
  std::string out;
  for (std::string_view n : names) {
    if (n.empty()) {
      continue;
    }
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
}

std::string Resolve(std::string_view base_dir, const std::string& file) {
  if (base_dir.empty() || file.front() == '/') {
    return file;
  }
  return (std::filesystem::path(base_dir) / file).lexically_normal().string();
}

void ParseVersion(const YAML::Node& node, const std::string& path, YamlChecker* c,
                  TlsVersion* out) {
  std::string name;
  if (!c->String(node, path, &name)) {
    return;
  }
  if (name == "TLS12") {
    *out = TlsVersion::kTls12;
  } else if (name == "TLS13") {
    *out = TlsVersion::kTls13;
  } else if (name == "TLS10" || name == "TLS11") {
    c->Fail(node, path,
            name +
                " is not supported (OpenSSL 3 refuses TLS 1.0 and 1.1 at its default "
                "security level): use TLS12 or TLS13");
  } else {
    c->Fail(node, path, "unknown TLS version \"" + name + "\" (expected TLS12 or TLS13)");
  }
}

constexpr std::string_view kTls = "tls_server_config";

// The certificate, key and client CA: files (relative to the web config) or inline PEM.
void ParseTlsMaterial(const YAML::Node& node, YamlChecker* c, std::string_view base_dir,
                      TlsServerConfig* tls) {
  const auto file = [&](const char* key, std::string* out) {
    if (c->String(node[key], YamlChecker::Join(kTls, key), out)) {
      *out = Resolve(base_dir, *out);
    }
  };
  file("cert_file", &tls->cert_file);
  file("key_file", &tls->key_file);
  file("client_ca_file", &tls->client_ca_file);
  c->String(node["cert"], YamlChecker::Join(kTls, "cert"), &tls->cert);
  c->String(node["key"], YamlChecker::Join(kTls, "key"), &tls->key);
  c->String(node["client_ca"], YamlChecker::Join(kTls, "client_ca"), &tls->client_ca);
}

void ParseClientAuth(const YAML::Node& auth, YamlChecker* c, ClientAuth* out) {
  const std::string path = YamlChecker::Join(kTls, "client_auth_type");
  std::string name;
  if (!c->String(auth, path, &name)) {
    return;
  }
  static constexpr ClientAuth kAll[] = {
      ClientAuth::kNoClientCert, ClientAuth::kRequestClientCert, ClientAuth::kRequireAnyClientCert,
      ClientAuth::kVerifyClientCertIfGiven, ClientAuth::kRequireAndVerifyClientCert};
  const auto it = std::find_if(std::begin(kAll), std::end(kAll),
                               [&](ClientAuth a) { return ClientAuthName(a) == name; });
  if (it != std::end(kAll)) {
    *out = *it;
  } else if (name == "RequireClientCert") {  // exporter-toolkit's old spelling.
    *out = ClientAuth::kRequireAnyClientCert;
  } else {
    c->Fail(auth, path,
            "unknown value \"" + name +
                "\" (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, "
                "VerifyClientCertIfGiven, RequireAndVerifyClientCert)");
  }
}

// Go's names of the TLS 1.2 suites and curves, translated to OpenSSL's.
void ParseCiphersAndCurves(const YAML::Node& node, YamlChecker* c, TlsServerConfig* tls) {
  c->StringList(node["cipher_suites"], YamlChecker::Join(kTls, "cipher_suites"),
                [&](const YAML::Node& n, const std::string& key, const std::string& name) {
                  for (const CipherName& cn : kTls12Ciphers) {
                    if (cn.go == name) {
                      tls->cipher_suites.emplace_back(cn.openssl);
                      return;
                    }
                  }
                  if (std::find(std::begin(kTls13Ciphers), std::end(kTls13Ciphers), name) !=
                      std::end(kTls13Ciphers)) {
                    c->Fail(n, key,
                            name +
                                " is a TLS 1.3 suite: only TLS 1.2 suites can be chosen (as in "
                                "exporter-toolkit)");
                    return;
                  }
                  c->Fail(n, key,
                          "unknown cipher suite \"" + name +
                              "\" (use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
                });
  c->StringList(node["curve_preferences"], YamlChecker::Join(kTls, "curve_preferences"),
                [&](const YAML::Node& n, const std::string& key, const std::string& name) {
                  for (const CurveName& cn : kCurves) {
                    if (cn.go == name) {
                      tls->curve_preferences.emplace_back(cn.openssl);
                      return;
                    }
                  }
                  c->Fail(n, key,
                          "unknown curve \"" + name +
                              "\" (expected one of: CurveP256, CurveP384, CurveP521, X25519)");
                });
}

// One of two keys that say the same (cert_file and cert): exactly one of them.
void ExpectOneOf(const YAML::Node& node, YamlChecker* c, const char* file_key,
                 const char* inline_key) {
  const bool file = YamlChecker::Present(node[file_key]);
  const bool text = YamlChecker::Present(node[inline_key]);
  if (file && text) {
    c->Fail(node[inline_key], YamlChecker::Join(kTls, inline_key),
            std::string("set either ") + inline_key + " or " + file_key + ", not both");
  } else if (!file && !text) {
    c->Fail(node, YamlChecker::Join(kTls, file_key),
            std::string("missing one of ") + file_key + " or " + inline_key);
  }
}

// The rules between keys of a TLS config that is on: a certificate and a key, a client CA
// exactly when client certificates are verified, SANs only with required certificates.
void CheckTlsCombination(const YAML::Node& node, YamlChecker* c, const TlsServerConfig& tls) {
  const auto given = [&](const char* key) { return YamlChecker::Present(node[key]); };
  ExpectOneOf(node, c, "cert_file", "cert");
  ExpectOneOf(node, c, "key_file", "key");
  const bool has_ca = given("client_ca_file") || given("client_ca");
  if (given("client_ca_file") && given("client_ca")) {
    c->Fail(node["client_ca"], YamlChecker::Join(kTls, "client_ca"),
            "set either client_ca or client_ca_file, not both");
  }
  if (has_ca && tls.client_auth == ClientAuth::kNoClientCert) {
    const char* key = node["client_ca_file"].IsDefined() ? "client_ca_file" : "client_ca";
    c->Fail(node[key], YamlChecker::Join(kTls, key),
            "a client CA needs a client_auth_type other than NoClientCert");
  }
  if (!has_ca && (tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  tls.client_auth == ClientAuth::kRequireAndVerifyClientCert)) {
    c->Fail(node["client_auth_type"], YamlChecker::Join(kTls, "client_auth_type"),
            std::string(ClientAuthName(tls.client_auth)) +
                " needs client_ca_file (or client_ca): the CA certificates that sign client "
                "certificates");
  }
  if (!tls.client_allowed_sans.empty() && tls.client_auth != ClientAuth::kRequireAnyClientCert &&
      tls.client_auth != ClientAuth::kRequireAndVerifyClientCert) {
    c->Fail(node["client_allowed_sans"], YamlChecker::Join(kTls, "client_allowed_sans"),
            "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
  }
  if (static_cast<int>(tls.max_version) < static_cast<int>(tls.min_version)) {
    c->Fail(node["max_version"], YamlChecker::Join(kTls, "max_version"),
            "must not be lower than min_version (" + std::string(TlsVersionName(tls.min_version)) +
                ")");
  }
}

void ParseTls(const YAML::Node& node, YamlChecker* c, std::string_view base_dir,
              TlsServerConfig* tls, std::vector<std::string>* warnings) {
  if (!c->ExpectMap(node, std::string(kTls),
                    {"cert_file", "key_file", "cert", "key", "client_ca_file", "client_ca",
                     "client_auth_type", "client_allowed_sans", "min_version", "max_version",
                     "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"})) {
    return;
  }
  ParseTlsMaterial(node, c, base_dir, tls);
  ParseClientAuth(node["client_auth_type"], c, &tls->client_auth);
  ParseVersion(node["min_version"], YamlChecker::Join(kTls, "min_version"), c, &tls->min_version);
  ParseVersion(node["max_version"], YamlChecker::Join(kTls, "max_version"), c, &tls->max_version);
  c->Bool(node["prefer_server_cipher_suites"],
          YamlChecker::Join(kTls, "prefer_server_cipher_suites"),
          &tls->prefer_server_cipher_suites);
  ParseCiphersAndCurves(node, c, tls);
  c->StringList(node["client_allowed_sans"], YamlChecker::Join(kTls, "client_allowed_sans"),
                [&](const YAML::Node&, const std::string&, const std::string& san) {
                  tls->client_allowed_sans.push_back(san);
                });

  // exporter-toolkit's rule: any of these keys turns TLS on.
  tls->enabled = false;
  for (const char* key : {"cert_file", "cert", "key_file", "key", "client_ca_file", "client_ca",
                          "client_auth_type"}) {
    tls->enabled = tls->enabled || YamlChecker::Present(node[key]);
  }
  if (!tls->enabled) {
    warnings->push_back("tls_server_config names no certificate: serving plain HTTP");
    return;
  }
  CheckTlsCombination(node, c, *tls);
}

// One response header of http_server_config.headers.
void ParseHeader(const YAML::Node& name_node, const YAML::Node& value_node, const std::string& key,
                 YamlChecker* c, HttpServerConfig* http) {
  const std::string name = name_node.Scalar();
  const auto* allowed = std::find_if(std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
                                     [&](const AllowedHeader& h) { return h.name == name; });
  if (allowed == std::end(kAllowedHeaders)) {
    c->Fail(name_node, key,
            "HTTP header \"" + name +
                "\" can not be configured (allowed: Strict-Transport-Security, "
                "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                "Content-Security-Policy)");
    return;
  }
  if (!YamlChecker::Present(value_node)) {
    return;  // Blank: unset.
  }
  if (!value_node.IsScalar()) {
    c->Fail(value_node, key, "must be a string");
    return;
  }
  const std::string value = value_node.Scalar();
  if (value.empty()) {
    return;
  }
  if (value.find_first_of("\r\n") != std::string::npos) {
    c->Fail(value_node, key, "must not contain line breaks");
    return;
  }
  if (!allowed->values.front().empty() &&
      std::find(allowed->values.begin(), allowed->values.end(), value) == allowed->values.end()) {
    c->Fail(
        value_node, key,
        "invalid value \"" + value + "\" (expected one of: " + JoinNames(allowed->values) + ")");
    return;
  }
  http->headers.emplace_back(name, value);
}

void ParseHttp(const YAML::Node& node, YamlChecker* c, HttpServerConfig* http) {
  const std::string p = "http_server_config";
  if (!c->ExpectMap(node, p, {"http2", "headers"})) {
    return;
  }
  c->Bool(node["http2"], p + ".http2", &http->http2);
  if (const YAML::Node headers = node["headers"]; YamlChecker::Present(headers)) {
    c->ForEachEntry(headers, p + ".headers", "must be a map of header names to values",
                    "duplicate key",
                    [&](const YAML::Node& name, const YAML::Node& value, const std::string& key) {
                      ParseHeader(name, value, key, c, http);
                    });
  }
}

// One entry of basic_auth_users: a user name and a bcrypt hash.
void ParseUser(const YAML::Node& user_node, const YAML::Node& hash, const std::string& key,
               YamlChecker* c, std::vector<std::pair<std::string, std::string>>* users) {
  const std::string user = user_node.Scalar();
  if (user.empty()) {
    c->Fail(user_node, "basic_auth_users", "a user name must not be empty");
    return;
  }
  if (user.find(':') != std::string::npos) {
    c->Fail(user_node, key, "a user name must not contain ':' (basic auth splits at the first)");
    return;
  }
  if (std::any_of(user.begin(), user.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < kFirstPrintable || ch == kDelete;
      })) {
    c->Fail(user_node, key, "a user name must not contain control characters");
    return;
  }
  // Never echo the value: it may be a password pasted by mistake.
  if (!hash.IsScalar() || !IsBcryptHash(hash.Scalar())) {
    c->Fail(YamlChecker::Present(hash) ? hash : user_node, key, std::string(kBcryptHint));
    return;
  }
  users->emplace_back(user, hash.Scalar());
}

void ParseUsers(const YAML::Node& node, YamlChecker* c,
                std::vector<std::pair<std::string, std::string>>* users) {
  c->ForEachEntry(node, "basic_auth_users", "must be a map of user names to bcrypt hashes",
                  "listed twice",
                  [&](const YAML::Node& user, const YAML::Node& hash, const std::string& key) {
                    ParseUser(user, hash, key, c, users);
                  });
  std::sort(users->begin(), users->end());
}

void ParseWebRoot(const YAML::Node& root, YamlChecker* c, std::string_view base_dir,
                  WebConfigResult* result) {
  if (!c->ExpectMap(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"},
                    {"rate_limit"})) {
    return;
  }
  if (const YAML::Node tls = root["tls_server_config"]; YamlChecker::Present(tls)) {
    ParseTls(tls, c, base_dir, &result->config.tls, &result->warnings);
  }
  if (const YAML::Node http = root["http_server_config"]; YamlChecker::Present(http)) {
    ParseHttp(http, c, &result->config.http);
  }
  if (const YAML::Node users = root["basic_auth_users"]; YamlChecker::Present(users)) {
    ParseUsers(users, c, &result->config.basic_auth_users);
  }
}

}  // namespace

std::string_view ClientAuthName(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNoClientCert:
      return "NoClientCert";
    case ClientAuth::kRequestClientCert:
      return "RequestClientCert";
    case ClientAuth::kRequireAnyClientCert:
      return "RequireAnyClientCert";
    case ClientAuth::kVerifyClientCertIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuth::kRequireAndVerifyClientCert:
      return "RequireAndVerifyClientCert";
  }
  return "?";
}

std::string_view TlsVersionName(TlsVersion version) {
  return version == TlsVersion::kTls13 ? "TLS13" : "TLS12";
}

bool IsBcryptHash(std::string_view hash) {
  // "$2y$10$" + 22 characters of salt + 31 of hash, all from bcrypt's base64 alphabet.
  constexpr std::size_t kLength = 60;
  constexpr std::size_t kHeaderLength = 7;  // "$2y$10$"
  constexpr int kMinCost = 4;
  constexpr int kMaxCost = 31;
  if (hash.size() != kLength || hash.substr(0, 2) != "$2" ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < kMinCost || cost > kMaxCost) {
    return false;
  }
  return std::all_of(hash.begin() + kHeaderLength, hash.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '/';
  });
}

WebConfigResult ParseWebConfig(std::string_view yaml, std::string_view base_dir) {
  WebConfigResult result;
  const auto root = LoadYamlDocument(yaml, &result.errors);
  if (!root || !YamlChecker::Present(*root)) {
    return result;  // Invalid; or empty: plain HTTP, no authentication, as exporter-toolkit.
  }
  YamlChecker c(&result.errors);
  c.Run(*root, "invalid web config",
        [&](YamlChecker& checker) { ParseWebRoot(*root, &checker, base_dir, &result); });
  if (!result.ok()) {
    result.config = WebConfig{};
  }
  return result;
}

WebConfigResult LoadWebConfigFile(const std::string& path) {
  const auto text = ReadTextFile(path);
  if (!text) {
    WebConfigResult r;
    r.errors.push_back(ConfigError{0, 0, "", "cannot read the web config file"});
    return r;
  }
  return ParseWebConfig(*text, std::filesystem::path(path).parent_path().string());
}

}  // namespace cbe
