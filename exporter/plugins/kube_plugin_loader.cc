#include <mutex>

#include "exporter/base/plugin.h"
#include "exporter/plugins/kube_plugin.h"

namespace cbe {

Result<void*> KubePluginEntry(const char* symbol) {
  static std::mutex mu;
  static void* plugin = nullptr;
  std::lock_guard lock(mu);
  if (plugin == nullptr) {
    auto loaded = LoadPlugin(kKubePluginFile);
    if (!loaded) {
      return loaded.error();
    }
    plugin = *loaded;
  }
  return PluginSymbol(plugin, symbol);
}

}  // namespace cbe
