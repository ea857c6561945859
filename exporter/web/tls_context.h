#pragma once

// TLS for the HTTP server: an OpenSSL context built from tls_server_config, handed to civetweb
// through its external_ssl_ctx callback, and the one-time preparation Debian's civetweb 1.15
// needs to use OpenSSL 3 at all (docs/tls.md).

#include <memory>
#include <string>
#include <vector>

#include "exporter/base/result.h"
#include "exporter/config/web_config.h"
#include "exporter/web/web_crypto.h"

namespace cbe {

// Reads the certificate, key and client CA the config names and builds the server context:
// protocol versions, client certificate policy, allowed client SANs, cipher suites, groups.
// Errors name the key and the file: "tls_server_config.key_file: /etc/x.key: ...".
Result<ServerTlsContext> BuildServerTlsContext(const TlsServerConfig& tls);

// Makes civetweb's dlopen("libssl.so")/dlopen("libcrypto.so") find the exporter's
// compatibility libraries (lib/cbe-ssl next to the binary in the build tree,
// ../lib/calico-bgp-exporter next to it or the install folder the build was configured with), then
// initializes civetweb's TLS with mg_init_library(MG_FEATURES_TLS). Once per process; later calls
// return the first outcome. Call before the first TLS server starts.
Result<std::string> PrepareCivetwebTls();

// civetweb's external_ssl_ctx callback, for CivetCallbacks: hands civetweb `PendingServerTls()`
// at start (with a reference of its own) and drops that reference when the server stops.
int ExternalSslContext(void** ssl_ctx, void* user_data);

// The context the next server start hands to civetweb. Set it (or nullptr) before creating the
// server; servers start one at a time.
void SetPendingServerTls(std::shared_ptr<ssl_ctx_st> ctx);

}  // namespace cbe
