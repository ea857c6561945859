// The web crypto plugin's entry point (exporter/web/web_crypto.h).

#include "exporter/web/web_crypto.h"

extern "C" __attribute__((visibility("default"))) const cbe::WebCryptoApi* cbe_plugin_web_crypto() {
  return &cbe::WebCryptoImplementation();
}
