// The web crypto plugin's table (web_crypto.h): TLS contexts and basic auth on OpenSSL and
// libcrypt.

#include "exporter/web/basic_auth.h"
#include "exporter/web/tls_context.h"
#include "exporter/web/web_crypto.h"

namespace cbe {

const WebCryptoApi& WebCryptoImplementation() {
  static const WebCryptoApi kApi = {
      &BuildServerTlsContext,
      &PrepareCivetwebTls,
      &ExternalSslContext,
      &SetPendingServerTls,
      [](const BasicAuthUsers& users) -> std::shared_ptr<const Authenticator> {
        return std::make_shared<BasicAuth>(users);
      },
  };
  return kApi;
}

}  // namespace cbe
