#pragma once

#include <string>
#include <string_view>

namespace cbe {

// One problem in a config file, located for `file:line:col: path.to.key: message`.
struct ConfigError {
  int line = 0;     // 1-based; 0 when unknown.
  int column = 0;   // 1-based; 0 when unknown.
  std::string key;  // "bird.interval"; empty for the document itself.
  std::string message;

  std::string Format(std::string_view file) const;
};

}  // namespace cbe
