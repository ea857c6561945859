#include "exporter/base/plugin.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cbe {

std::vector<std::filesystem::path> PrivateLibraryDirs(std::string_view build_subdir) {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / "lib" / build_subdir);  // The build tree.
    dirs.push_back((exe.parent_path() / ".." / "lib" / "calico-bgp-exporter").lexically_normal());
  }
#ifdef CBE_PRIVATE_LIB_DIR
  dirs.emplace_back(CBE_PRIVATE_LIB_DIR);
#endif
  return dirs;
}

bool SafeToLoad(const std::filesystem::path& path, std::string* why) {
  // A root daemon loads code only from files and directories nobody else may change.
  for (const auto& p : {path, path.parent_path()}) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) {
      *why = p.string() + ": " + std::strerror(errno);
      return false;
    }
    if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      *why = p.string() + ": writable by another user than root or the exporter's";
      return false;
    }
  }
  return true;
}

Result<void*> LoadPlugin(std::string_view file) {
  std::string tried;
  for (const auto& dir : PrivateLibraryDirs("cbe-plugins")) {
    const auto path = dir / file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + dir.string();
      continue;
    }
    std::string why;
    if (!SafeToLoad(path, &why)) {
      return Error{"refusing the plugin " + path.string() + ": " + why};
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return Error{"cannot load the plugin " + path.string() + ": " + dlerror()};
    }
    return handle;
  }
  return Error{"the plugin " + std::string(file) + " is in none of: " + tried};
}

Result<void*> PluginSymbol(void* plugin, const char* symbol) {
  dlerror();
  void* address = dlsym(plugin, symbol);
  if (address == nullptr) {
    const char* err = dlerror();
    return Error{std::string("plugin symbol ") + symbol + ": " + (err != nullptr ? err : "null")};
  }
  return address;
}

}  // namespace cbe
