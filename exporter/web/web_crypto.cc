#include "exporter/web/web_crypto.h"

#include <mutex>

#include "exporter/base/plugin.h"

namespace cbe {
namespace {

class Everyone final : public Authenticator {
 public:
  bool enabled() const override { return false; }
  bool CheckHeader(const char*) const override { return true; }
};

}  // namespace

std::shared_ptr<const Authenticator> AllowEveryone() {
  static const std::shared_ptr<const Authenticator> kEveryone = std::make_shared<Everyone>();
  return kEveryone;
}

Result<const WebCryptoApi*> WebCrypto() {
  static std::mutex mu;
  static const WebCryptoApi* api = nullptr;
  std::lock_guard lock(mu);
  if (api == nullptr) {
    auto plugin = LoadPlugin(kWebCryptoPluginFile);
    if (!plugin) {
      return Error{"TLS and basic auth: " + plugin.error().message};
    }
    auto entry = PluginSymbol(*plugin, kWebCryptoSymbol);
    if (!entry) {
      return entry.error();
    }
    api = reinterpret_cast<const WebCryptoApi* (*)()>(*entry)();
  }
  return api;
}

}  // namespace cbe
