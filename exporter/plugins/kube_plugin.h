#pragma once

// The kube plugin (calico-bgp-exporter-kube.so): everything that needs libcurl, loaded by the
// main binary only when it is used, so that a node exporter without an intent URL does not map
// libcurl and its dependencies (about 4 MiB of RSS on every node). Its entry points, by name:

#include <string>
#include <vector>

#include "exporter/base/http_get.h"
#include "exporter/base/result.h"

namespace cbe {

inline constexpr const char* kKubePluginFile = "calico-bgp-exporter-kube.so";

// `calico-bgp-exporter intent serve ARGS...`: returns the exit code.
using IntentServeEntry = int (*)(const std::vector<std::string>* args);
inline constexpr const char* kIntentServeSymbol = "cbe_plugin_intent_serve";

// A new HTTP getter (libcurl), owned by the caller.
using NewHttpGetterEntry = HttpGetter* (*)();
inline constexpr const char* kNewHttpGetterSymbol = "cbe_plugin_new_http_getter";

// Loads the plugin (once) and looks up an entry point.
Result<void*> KubePluginEntry(const char* symbol);

}  // namespace cbe
