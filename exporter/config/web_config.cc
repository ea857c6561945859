#include "exporter/config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace cbe {
namespace {

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

class Checker {
 public:
  explicit Checker(WebConfigResult* result) : result_(result) {}

  void Fail(const YAML::Node& node, std::string key, std::string message) {
    ConfigError e;
    if (node.IsDefined()) {
      const YAML::Mark mark = node.Mark();
      if (mark.line >= 0) {
        e.line = mark.line + 1;
        e.column = mark.column + 1;
      }
    }
    e.key = std::move(key);
    e.message = std::move(message);
    result_->errors.push_back(std::move(e));
  }

  void Warn(std::string message) { result_->warnings.push_back(std::move(message)); }

  static bool Present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

  // `node` must be a map whose keys are unique and in `known`; keys in `unsupported` are
  // exporter-toolkit's but not implemented here.
  bool ExpectMap(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> known,
                 std::initializer_list<std::string_view> unsupported = {}) {
    if (!node.IsMap()) {
      Fail(node, path, "must be a map");
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const std::string full = path.empty() ? key : std::string(path).append(".").append(key);
      if (!seen.insert(key).second) {
        Fail(kv.first, full, "duplicate key");
      } else if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end()) {
        Fail(kv.first, full, "not supported by calico-bgp-exporter");
      } else if (std::find(known.begin(), known.end(), key) == known.end()) {
        Fail(kv.first, full, "unknown key (expected one of: " + JoinNames(known) + ")");
      }
    }
    return true;
  }

  // A non-empty string; `*out` unchanged when absent.
  bool String(const YAML::Node& node, const std::string& path, std::string* out) {
    if (!Present(node)) {
      return false;
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
      Fail(node, path, "must be a non-empty string");
      return false;
    }
    *out = node.Scalar();
    return true;
  }

  void Bool(const YAML::Node& node, const std::string& path, bool* out) {
    if (!Present(node)) {
      return;
    }
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) {
      Fail(node, path, "must be true or false");
      return;
    }
    *out = v;
  }

  // A list of non-empty strings, each passed to `each(node, key, value)`.
  template <typename F>
  void StringList(const YAML::Node& node, const std::string& path, F each) {
    if (!Present(node)) {
      return;
    }
    if (!node.IsSequence()) {
      Fail(node, path, "must be a list of strings");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string key = path + "[" + std::to_string(i) + "]";
      if (!item.IsScalar() || item.Scalar().empty()) {
        Fail(item, key, "must be a non-empty string");
        continue;
      }
      each(item, key, item.Scalar());
    }
  }

 private:
  WebConfigResult* result_;
};

std::string Resolve(std::string_view base_dir, const std::string& file) {
  if (base_dir.empty() || file.front() == '/') {
    return file;
  }
  return (std::filesystem::path(base_dir) / file).lexically_normal().string();
}

void ParseVersion(const YAML::Node& node, const std::string& path, Checker* c, TlsVersion* out) {
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

void ParseTls(const YAML::Node& node, Checker* c, std::string_view base_dir, TlsServerConfig* tls) {
  const std::string p = "tls_server_config";
  if (!c->ExpectMap(node, p,
                    {"cert_file", "key_file", "cert", "key", "client_ca_file", "client_ca",
                     "client_auth_type", "client_allowed_sans", "min_version", "max_version",
                     "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"})) {
    return;
  }
  const auto file = [&](const char* key, std::string* out) {
    if (c->String(node[key], p + "." + key, out)) {
      *out = Resolve(base_dir, *out);
    }
  };
  file("cert_file", &tls->cert_file);
  file("key_file", &tls->key_file);
  file("client_ca_file", &tls->client_ca_file);
  c->String(node["cert"], p + ".cert", &tls->cert);
  c->String(node["key"], p + ".key", &tls->key);
  c->String(node["client_ca"], p + ".client_ca", &tls->client_ca);

  std::string auth_name;
  const YAML::Node auth = node["client_auth_type"];
  if (c->String(auth, p + ".client_auth_type", &auth_name)) {
    static constexpr ClientAuth kAll[] = {ClientAuth::kNoClientCert, ClientAuth::kRequestClientCert,
                                          ClientAuth::kRequireAnyClientCert,
                                          ClientAuth::kVerifyClientCertIfGiven,
                                          ClientAuth::kRequireAndVerifyClientCert};
    const auto it = std::find_if(std::begin(kAll), std::end(kAll),
                                 [&](ClientAuth a) { return ClientAuthName(a) == auth_name; });
    if (it != std::end(kAll)) {
      tls->client_auth = *it;
    } else if (auth_name == "RequireClientCert") {  // exporter-toolkit's old spelling.
      tls->client_auth = ClientAuth::kRequireAnyClientCert;
    } else {
      c->Fail(auth, p + ".client_auth_type",
              "unknown value \"" + auth_name +
                  "\" (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, "
                  "VerifyClientCertIfGiven, RequireAndVerifyClientCert)");
    }
  }
  ParseVersion(node["min_version"], p + ".min_version", c, &tls->min_version);
  ParseVersion(node["max_version"], p + ".max_version", c, &tls->max_version);
  c->Bool(node["prefer_server_cipher_suites"], p + ".prefer_server_cipher_suites",
          &tls->prefer_server_cipher_suites);
  c->StringList(node["cipher_suites"], p + ".cipher_suites",
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
  c->StringList(node["curve_preferences"], p + ".curve_preferences",
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
  c->StringList(node["client_allowed_sans"], p + ".client_allowed_sans",
                [&](const YAML::Node&, const std::string&, const std::string& san) {
                  tls->client_allowed_sans.push_back(san);
                });

  // exporter-toolkit's rule: any of these keys turns TLS on.
  const auto given = [&](const char* key) { return Checker::Present(node[key]); };
  tls->enabled = given("cert_file") || given("cert") || given("key_file") || given("key") ||
                 given("client_ca_file") || given("client_ca") || given("client_auth_type");
  if (!tls->enabled) {
    c->Warn("tls_server_config names no certificate: serving plain HTTP");
    return;
  }
  if (given("cert_file") && given("cert")) {
    c->Fail(node["cert"], p + ".cert", "set either cert or cert_file, not both");
  } else if (!given("cert_file") && !given("cert")) {
    c->Fail(node, p + ".cert_file", "missing one of cert_file or cert");
  }
  if (given("key_file") && given("key")) {
    c->Fail(node["key"], p + ".key", "set either key or key_file, not both");
  } else if (!given("key_file") && !given("key")) {
    c->Fail(node, p + ".key_file", "missing one of key_file or key");
  }
  const bool has_ca = given("client_ca_file") || given("client_ca");
  if (given("client_ca_file") && given("client_ca")) {
    c->Fail(node["client_ca"], p + ".client_ca",
            "set either client_ca or client_ca_file, not both");
  }
  if (has_ca && tls->client_auth == ClientAuth::kNoClientCert) {
    const YAML::Node at =
        node["client_ca_file"].IsDefined() ? node["client_ca_file"] : node["client_ca"];
    c->Fail(at, p + (node["client_ca_file"].IsDefined() ? ".client_ca_file" : ".client_ca"),
            "a client CA needs a client_auth_type other than NoClientCert");
  }
  if (!has_ca && (tls->client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  tls->client_auth == ClientAuth::kRequireAndVerifyClientCert)) {
    c->Fail(auth, p + ".client_auth_type",
            std::string(ClientAuthName(tls->client_auth)) +
                " needs client_ca_file (or client_ca): the CA certificates that sign client "
                "certificates");
  }
  if (!tls->client_allowed_sans.empty() && tls->client_auth != ClientAuth::kRequireAnyClientCert &&
      tls->client_auth != ClientAuth::kRequireAndVerifyClientCert) {
    c->Fail(node["client_allowed_sans"], p + ".client_allowed_sans",
            "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
  }
  if (static_cast<int>(tls->max_version) < static_cast<int>(tls->min_version)) {
    c->Fail(node["max_version"], p + ".max_version",
            "must not be lower than min_version (" + std::string(TlsVersionName(tls->min_version)) +
                ")");
  }
}

void ParseHttp(const YAML::Node& node, Checker* c, HttpServerConfig* http) {
  const std::string p = "http_server_config";
  if (!c->ExpectMap(node, p, {"http2", "headers"})) {
    return;
  }
  c->Bool(node["http2"], p + ".http2", &http->http2);
  const YAML::Node headers = node["headers"];
  if (!Checker::Present(headers)) {
    return;
  }
  if (!headers.IsMap()) {
    c->Fail(headers, p + ".headers", "must be a map of header names to values");
    return;
  }
  std::set<std::string> seen;
  for (const auto& kv : headers) {
    const std::string name = kv.first.Scalar();
    const std::string key = std::string(p).append(".headers.").append(name);
    const auto* allowed = std::find_if(std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
                                       [&](const AllowedHeader& h) { return h.name == name; });
    if (allowed == std::end(kAllowedHeaders)) {
      c->Fail(kv.first, key,
              "HTTP header \"" + name +
                  "\" can not be configured (allowed: Strict-Transport-Security, "
                  "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                  "Content-Security-Policy)");
      continue;
    }
    if (!seen.insert(name).second) {
      c->Fail(kv.first, key, "duplicate key");
      continue;
    }
    if (!Checker::Present(kv.second)) {
      continue;  // Blank: unset.
    }
    if (!kv.second.IsScalar()) {
      c->Fail(kv.second, key, "must be a string");
      continue;
    }
    const std::string value = kv.second.Scalar();
    if (value.empty()) {
      continue;
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      c->Fail(kv.second, key, "must not contain line breaks");
      continue;
    }
    if (!allowed->values.front().empty() &&
        std::find(allowed->values.begin(), allowed->values.end(), value) == allowed->values.end()) {
      c->Fail(
          kv.second, key,
          "invalid value \"" + value + "\" (expected one of: " + JoinNames(allowed->values) + ")");
      continue;
    }
    http->headers.emplace_back(name, value);
  }
}

void ParseUsers(const YAML::Node& node, Checker* c,
                std::vector<std::pair<std::string, std::string>>* users) {
  const std::string p = "basic_auth_users";
  if (!node.IsMap()) {
    c->Fail(node, p, "must be a map of user names to bcrypt hashes");
    return;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string user = kv.first.Scalar();
    const std::string key = std::string(p).append(".").append(user);
    if (user.empty()) {
      c->Fail(kv.first, p, "a user name must not be empty");
      continue;
    }
    if (user.find(':') != std::string::npos) {
      c->Fail(kv.first, key, "a user name must not contain ':' (basic auth splits at the first)");
      continue;
    }
    if (std::any_of(user.begin(), user.end(),
                    [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
      c->Fail(kv.first, key, "a user name must not contain control characters");
      continue;
    }
    if (!seen.insert(user).second) {
      c->Fail(kv.first, key, "listed twice");
      continue;
    }
    // Never echo the value: it may be a password pasted by mistake.
    if (!kv.second.IsScalar() || !IsBcryptHash(kv.second.Scalar())) {
      c->Fail(kv.second.IsDefined() && !kv.second.IsNull() ? kv.second : kv.first, key,
              std::string(kBcryptHint));
      continue;
    }
    users->emplace_back(user, kv.second.Scalar());
  }
  std::sort(users->begin(), users->end());
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
  // $2y$10$ + 22 characters of salt + 31 of hash, all from bcrypt's base64 alphabet.
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) {
    return false;
  }
  return std::all_of(hash.begin() + 7, hash.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '/';
  });
}

WebConfigResult ParseWebConfig(std::string_view yaml, std::string_view base_dir) {
  WebConfigResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigError err;
    err.line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    err.column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    err.message = "invalid YAML: " + e.msg;
    result.errors.push_back(std::move(err));
    return result;
  }
  if (!root.IsDefined() || root.IsNull()) {
    return result;  // Empty: plain HTTP, no authentication, as exporter-toolkit.
  }
  Checker c(&result);
  try {
    if (!c.ExpectMap(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"},
                     {"rate_limit"})) {
      return result;
    }
    if (const YAML::Node tls = root["tls_server_config"]; Checker::Present(tls)) {
      ParseTls(tls, &c, base_dir, &result.config.tls);
    }
    if (const YAML::Node http = root["http_server_config"]; Checker::Present(http)) {
      ParseHttp(http, &c, &result.config.http);
    }
    if (const YAML::Node users = root["basic_auth_users"]; Checker::Present(users)) {
      ParseUsers(users, &c, &result.config.basic_auth_users);
    }
  } catch (const YAML::Exception& e) {
    c.Fail(root, "", std::string("invalid web config: ") + e.what());
  }
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
