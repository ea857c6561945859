#pragma once

// Code the daemon loads only when its config asks for it, so that every node does not pay the
// memory of libraries it does not use (libcurl and its dozens of dependencies: the intent
// service and its client). A plugin is a shared object in the exporter's private library
// folder, found by absolute path (no RPATH, no LD_LIBRARY_PATH), and refused unless only root
// (or the exporter's own user) can change it.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"

namespace cbe {

// The folders of the exporter's private libraries, in search order: `<exe>/lib/<build_subdir>`
// (the build tree), `<exe>/../lib/calico-bgp-exporter` (installed), and the install folder the
// build was configured with.
std::vector<std::filesystem::path> PrivateLibraryDirs(std::string_view build_subdir);

// True when `path` and its folder can be changed by no one but root or the exporter's user;
// `why` says what is wrong otherwise.
bool SafeToLoad(const std::filesystem::path& path, std::string* why);

// dlopen()s `file` (e.g. "calico-bgp-exporter-kube.so") from the first private library folder
// that has it (build subfolder "cbe-plugins"). The handle stays loaded for the process's life.
Result<void*> LoadPlugin(std::string_view file);

// The address of `symbol` in a plugin loaded by LoadPlugin.
Result<void*> PluginSymbol(void* plugin, const char* symbol);

}  // namespace cbe
