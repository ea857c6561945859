#pragma once

// Where the Kubernetes API is and how to prove who we are: in-cluster (the pod's service
// account) or a kubeconfig file (for use outside a cluster). Pure: text and environment in,
// Credentials out; reading the token file is left to the caller (it rotates).

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/base/result.h"

namespace cbe::kube {

struct Credentials {
  std::string server;  // "https://10.96.0.1:443", no trailing slash
  // The CA that signs the server's certificate: a PEM file or PEM text (neither: the system's).
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // SNI and the name checked, when not the server's host
  // Bearer token: fixed, or read from a file before every request (service-account tokens
  // are rotated by the kubelet; the file always holds the current one).
  std::string token;
  std::string token_file;
  // Client certificate and key: files or PEM text.
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_pem;
  std::string client_key_pem;
  // For the log: "in-cluster" or "kubeconfig FILE, context NAME".
  std::string source;
};

// The pod's service account, as client-go's rest.InClusterConfig finds it.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// In-cluster credentials: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the token
// file and ca.crt of `service_account_dir`. `getenv` looks up an environment variable (nullopt:
// unset). Checks that the token and CA files exist (`exists`), not their contents.
Result<Credentials> InClusterCredentials(
    const std::function<std::optional<std::string>(const char*)>& getenv,
    const std::function<bool(const std::string&)>& exists,
    std::string_view service_account_dir = kServiceAccountDir);

// A kubeconfig (YAML, as kubectl reads it): the context `context` (empty: current-context), its
// cluster's server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name,
// and its user's token, tokenFile, client-certificate(-data) and client-key(-data). Relative
// file names are relative to `dir` (the kubeconfig's folder), as kubectl does. exec plugins,
// auth providers and basic auth are refused with an error that says so. `file` names the file
// in errors: "FILE: users[0].user.exec: ...".
Result<Credentials> ParseKubeconfig(std::string_view text, std::string_view file,
                                    std::string_view dir, std::string_view context = "");

// Base64 (RFC 4648, padding optional, whitespace ignored), as kubeconfig's *-data fields hold.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace cbe::kube
