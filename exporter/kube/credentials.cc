#include "exporter/kube/credentials.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>

namespace cbe::kube {
namespace {

std::string Bracketed(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

std::string JoinPath(std::string_view dir, const std::string& name) {
  if (name.empty() || name.front() == '/' || dir.empty()) {
    return name;
  }
  std::string out(dir);
  if (out.back() != '/') {
    out += '/';
  }
  return out + name;
}

// The entry of a kubeconfig list (clusters, users, contexts) with `name`, and its index.
struct Entry {
  YAML::Node body;
  std::string path;  // "clusters[1].cluster"
};

Result<Entry> FindNamed(const YAML::Node& root, const char* list, const char* field,
                        const std::string& name) {
  const YAML::Node items = root[list];
  if (items && !items.IsSequence()) {
    return Error{std::string(list) + ": expected a list"};
  }
  for (std::size_t i = 0; items && i < items.size(); ++i) {
    const YAML::Node item = items[i];
    if (item.IsMap() && item["name"] && item["name"].IsScalar() && item["name"].Scalar() == name) {
      const YAML::Node body = item[field];
      if (!body || !body.IsMap()) {
        return Error{std::string(list) + "[" + std::to_string(i) + "]." + field +
                     ": expected a mapping"};
      }
      return Entry{body, std::string(list) + "[" + std::to_string(i) + "]." + field};
    }
  }
  return Error{std::string(list) + ": no entry named \"" + name + "\""};
}

// The string at `key` of `map`, or "" when absent.
Result<std::string> Text(const YAML::Node& map, const char* key, const std::string& path) {
  const YAML::Node v = map[key];
  if (!v || v.IsNull()) {
    return std::string();
  }
  if (!v.IsScalar()) {
    return Error{path + "." + key + ": expected a string"};
  }
  return v.Scalar();
}

// A *-data field: base64 of PEM text.
Result<std::string> Data(const YAML::Node& map, const char* key, const std::string& path) {
  Result<std::string> text = Text(map, key, path);
  if (!text || text->empty()) {
    return text;
  }
  std::optional<std::string> decoded = DecodeBase64(*text);
  if (!decoded) {
    return Error{path + "." + key + ": not base64"};
  }
  return *decoded;
}

Result<bool> ReadCluster(const Entry& c, std::string_view dir, Credentials& out) {
  for (const auto& [key, into] :
       {std::pair{"server", &out.server}, std::pair{"certificate-authority", &out.ca_file},
        std::pair{"tls-server-name", &out.tls_server_name}}) {
    Result<std::string> v = Text(c.body, key, c.path);
    if (!v) {
      return v.error();
    }
    *into = *v;
  }
  out.ca_file = JoinPath(dir, out.ca_file);
  Result<std::string> ca = Data(c.body, "certificate-authority-data", c.path);
  if (!ca) {
    return ca.error();
  }
  out.ca_pem = *ca;
  Result<std::string> insecure = Text(c.body, "insecure-skip-tls-verify", c.path);
  if (!insecure) {
    return insecure.error();
  }
  out.insecure_skip_tls_verify = *insecure == "true";
  if (out.server.empty()) {
    return Error{c.path + ".server: missing"};
  }
  if (!out.server.starts_with("https://") && !out.server.starts_with("http://")) {
    return Error{c.path + ".server: \"" + out.server + "\" is not an http(s) URL"};
  }
  while (out.server.size() > 8 && out.server.back() == '/') {
    out.server.pop_back();
  }
  return true;
}

Result<bool> ReadUser(const Entry& u, std::string_view dir, Credentials& out) {
  for (const char* refused : {"exec", "auth-provider", "username", "password"}) {
    if (u.body[refused]) {
      return Error{u.path + "." + refused +
                   ": not supported (use a service-account token, tokenFile or a client "
                   "certificate)"};
    }
  }
  const std::pair<const char*, std::string*> files[] = {
      {"token", &out.token},
      {"tokenFile", &out.token_file},
      {"client-certificate", &out.client_cert_file},
      {"client-key", &out.client_key_file},
  };
  for (const auto& [key, into] : files) {
    Result<std::string> v = Text(u.body, key, u.path);
    if (!v) {
      return v.error();
    }
    *into = *v;
  }
  out.token_file = JoinPath(dir, out.token_file);
  out.client_cert_file = JoinPath(dir, out.client_cert_file);
  out.client_key_file = JoinPath(dir, out.client_key_file);
  for (const auto& [key, into] : {std::pair{"client-certificate-data", &out.client_cert_pem},
                                  std::pair{"client-key-data", &out.client_key_pem}}) {
    Result<std::string> v = Data(u.body, key, u.path);
    if (!v) {
      return v.error();
    }
    *into = *v;
  }
  const bool cert = !out.client_cert_file.empty() || !out.client_cert_pem.empty();
  const bool key = !out.client_key_file.empty() || !out.client_key_pem.empty();
  if (cert != key) {
    return Error{u.path + ": a client certificate needs its key and the key its certificate"};
  }
  return true;
}

Result<Credentials> FromRoot(const YAML::Node& root, std::string_view dir,
                             std::string_view context) {
  if (!root.IsMap()) {
    return Error{"expected a kubeconfig (a mapping with clusters, users and contexts)"};
  }
  std::string name(context);
  if (name.empty()) {
    Result<std::string> current = Text(root, "current-context", "");
    if (!current) {
      return current.error();
    }
    name = *current;
    if (name.empty()) {
      return Error{"current-context: missing (no context to use)"};
    }
  }
  Result<Entry> ctx = FindNamed(root, "contexts", "context", name);
  if (!ctx) {
    return ctx.error();
  }
  Result<std::string> cluster_name = Text(ctx->body, "cluster", ctx->path);
  Result<std::string> user_name = Text(ctx->body, "user", ctx->path);
  if (!cluster_name || !user_name) {
    return !cluster_name ? cluster_name.error() : user_name.error();
  }
  Credentials out;
  out.source = "context " + name;
  Result<Entry> cluster = FindNamed(root, "clusters", "cluster", *cluster_name);
  if (!cluster) {
    return cluster.error();
  }
  if (Result<bool> ok = ReadCluster(*cluster, dir, out); !ok) {
    return ok.error();
  }
  if (!user_name->empty()) {
    Result<Entry> user = FindNamed(root, "users", "user", *user_name);
    if (!user) {
      return user.error();
    }
    if (Result<bool> ok = ReadUser(*user, dir, out); !ok) {
      return ok.error();
    }
  }
  return out;
}

}  // namespace

Result<Credentials> InClusterCredentials(
    const std::function<std::optional<std::string>(const char*)>& getenv,
    const std::function<bool(const std::string&)>& exists, std::string_view service_account_dir) {
  const std::optional<std::string> host = getenv("KUBERNETES_SERVICE_HOST");
  const std::optional<std::string> port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return Error{
        "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT "
        "unset): pass --kubeconfig FILE"};
  }
  Credentials c;
  c.server = "https://" + Bracketed(*host) + ":" + *port;
  c.token_file = JoinPath(service_account_dir, "token");
  c.ca_file = JoinPath(service_account_dir, "ca.crt");
  for (const std::string* f : {&c.token_file, &c.ca_file}) {
    if (!exists(*f)) {
      return Error{*f +
                   ": missing (is a service-account token mounted? automountServiceAccountToken)"};
    }
  }
  c.source = "in-cluster";
  return c;
}

Result<Credentials> ParseKubeconfig(std::string_view text, std::string_view file,
                                    std::string_view dir, std::string_view context) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{std::string(file) + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
  Result<Credentials> c = [&]() -> Result<Credentials> {
    try {
      return FromRoot(root, dir, context);
    } catch (const YAML::Exception& e) {
      return Error{e.msg};
    }
  }();
  if (!c) {
    return Error{std::string(file) + ": " + c.error().message};
  }
  c->source = "kubeconfig " + std::string(file) + ", " + c->source;
  return c;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
      continue;
    }
    if (ch == '=') {
      padding = true;
      continue;
    }
    const std::size_t v = kAlphabet.find(ch);
    if (v == std::string_view::npos || padding) {
      return std::nullopt;  // a foreign character, or data after the padding
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (bits >= 6) {
    return std::nullopt;  // a single leftover character holds no whole byte
  }
  return out;
}

}  // namespace cbe::kube
