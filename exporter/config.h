#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "probes/result.h"

namespace cbe {

struct BirdConfig {
  // Control sockets to read. Empty: those that exist of Calico's and /var/run/bird/*.ctl.
  std::vector<std::string> sockets;
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{2000};
  std::size_t max_reply_bytes = 64 << 20;
};

struct Config {
  BirdConfig bird;
};

// One problem in a config file, located for `file:line:col: path.to.key: message`.
struct ConfigError {
  int line = 0;     // 1-based; 0 when unknown.
  int column = 0;   // 1-based; 0 when unknown.
  std::string key;  // "bird.interval"; empty for the document itself.
  std::string message;

  std::string Format(std::string_view file) const;
};

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;  // All of them at once. Empty: the config is valid.
  bool ok() const { return errors.empty(); }
};

// Parses and validates a YAML config. An empty document gives the defaults.
ConfigResult ParseConfig(std::string_view yaml);

// Reads `path` and parses it. An unreadable file is one error at line 0.
ConfigResult LoadConfigFile(const std::string& path);

// The default sockets: those that exist of Calico's and /var/run/bird/*.ctl (and /run/bird).
// When none exists, Calico's IPv4 socket, so that the exporter reports BIRD down.
std::vector<std::string> DefaultBirdSockets();

// The `daemon` label of a socket: its file name without extension ("bird6").
std::string DaemonName(std::string_view socket_path);

}  // namespace cbe
