// Kubeconfig and in-cluster credentials (exporter/kube/credentials.h): pure, no files read.

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "exporter/kube/credentials.h"

namespace cbe::kube {
namespace {

constexpr const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: intent
contexts:
- name: other
  context: {cluster: other, user: other}
- name: intent
  context:
    cluster: prod
    user: intent-reader
clusters:
- name: other
  cluster: {server: "https://other:6443"}
- name: prod
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority: pki/ca.crt
users:
- name: other
  user: {token: other-token}
- name: intent-reader
  user:
    tokenFile: /var/run/token
)";

TEST_CASE("kubeconfig: the current context's cluster and user; paths relative to its folder",
          "[unit][kube]") {
  const Result<Credentials> c = ParseKubeconfig(kKubeconfig, "/etc/k/config", "/etc/k");
  REQUIRE(c.ok());
  CHECK(c->server == "https://10.0.0.1:6443");
  CHECK(c->ca_file == "/etc/k/pki/ca.crt");
  CHECK(c->token_file == "/var/run/token");
  CHECK(c->token.empty());
  CHECK(c->source == "kubeconfig /etc/k/config, context intent");
  const Result<Credentials> other = ParseKubeconfig(kKubeconfig, "k", "/etc/k", "other");
  REQUIRE(other.ok());
  CHECK(other->server == "https://other:6443");
  CHECK(other->token == "other-token");
}

TEST_CASE("kubeconfig: *-data fields are base64 PEM; insecure-skip-tls-verify, tls-server-name",
          "[unit][kube]") {
  const Result<Credentials> c = ParseKubeconfig(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters:
- name: k
  cluster:
    server: https://[fd00::1]:443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
    insecure-skip-tls-verify: true
    tls-server-name: kubernetes.default
users:
- name: u
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
)",
                                                "k", "");
  REQUIRE(c.ok());
  CHECK(c->server == "https://[fd00::1]:443");
  CHECK(c->ca_pem == "-----BEGIN CERTIFICATE-----");
  CHECK(c->insecure_skip_tls_verify);
  CHECK(c->tls_server_name == "kubernetes.default");
  CHECK(c->client_cert_pem == "cert");
  CHECK(c->client_key_pem == "key");
}

TEST_CASE("kubeconfig: clear errors", "[unit][kube]") {
  const std::map<std::string, std::string> cases = {
      {"current-context: x\n", "f: contexts: no entry named \"x\""},
      {"contexts: [{name: c, context: {cluster: k, user: u}}]\n",
       "f: current-context: missing (no context to use)"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n",
       "f: clusters: no entry named \"k\""},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: ftp://x}}]\n",
       "f: clusters[0].cluster.server: \"ftp://x\" is not an http(s) URL"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: https://x}}]\n"
       "users: [{name: u, user: {exec: {command: aws}}}]\n",
       "f: users[0].user.exec: not supported (use a service-account token, tokenFile or a client "
       "certificate)"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: https://x, certificate-authority-data: '%%'}}]\n",
       "f: clusters[0].cluster.certificate-authority-data: not base64"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: https://x}}]\n"
       "users: [{name: u, user: {client-certificate: c.crt}}]\n",
       "f: users[0].user: a client certificate needs its key and the key its certificate"},
      {"- just\n- a list\n",
       "f: expected a kubeconfig (a mapping with clusters, users and contexts)"},
      {"key: [unclosed\n", "f:2:1: end of sequence flow not found"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    const Result<Credentials> c = ParseKubeconfig(text, "f", "");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().message == message);
  }
}

TEST_CASE("in-cluster: the service's host and port, the token and CA of the service account",
          "[unit][kube]") {
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  const auto getenv = [&env](const char* name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  bool files = true;
  const auto exists = [&files](const std::string&) { return files; };
  Result<Credentials> c = InClusterCredentials(getenv, exists);
  REQUIRE(c.ok());
  CHECK(c->server == "https://10.96.0.1:443");
  CHECK(c->token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(c->ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  CHECK(c->source == "in-cluster");

  env["KUBERNETES_SERVICE_HOST"] = "fd00:10:96::1";
  c = InClusterCredentials(getenv, exists);
  REQUIRE(c.ok());
  CHECK(c->server == "https://[fd00:10:96::1]:443");

  files = false;
  c = InClusterCredentials(getenv, exists, "/sa");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message ==
        "/sa/token: missing (is a service-account token mounted? automountServiceAccountToken)");

  env.clear();
  c = InClusterCredentials(getenv, exists);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.starts_with("not running in a Kubernetes pod"));
}

TEST_CASE("base64 as kubeconfig holds it", "[unit][kube]") {
  CHECK(DecodeBase64("aGVsbG8=") == "hello");
  CHECK(DecodeBase64("aGVsbG8") == "hello");
  CHECK(DecodeBase64("aGVs\nbG8h") == "hello!");
  CHECK(DecodeBase64("") == "");
  CHECK(DecodeBase64("a") == std::nullopt);
  CHECK(DecodeBase64("aGVsbG8=x") == std::nullopt);
  CHECK(DecodeBase64("a$bc") == std::nullopt);
}

}  // namespace
}  // namespace cbe::kube
