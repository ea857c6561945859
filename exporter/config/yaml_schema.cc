#include "exporter/config/yaml_schema.h"

#include <algorithm>
#include <set>
#include <span>
#include <sstream>

#include "exporter/base/duration.h"

namespace cbe {
namespace {

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
}

bool Contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// yaml-cpp's marks are 0-based, -1 when unknown.
void Locate(const YAML::Mark& mark, ConfigError* e) {
  if (mark.line >= 0) {
    e->line = mark.line + 1;
    e->column = mark.column + 1;
  }
}

}  // namespace

std::string ConfigError::Format(std::string_view file) const {
  std::ostringstream out;
  out << file;
  if (line > 0) {
    out << ':' << line << ':' << column;
  }
  out << ": ";
  if (!key.empty()) {
    out << key << ": ";
  }
  out << message;
  return out.str();
}

std::optional<YAML::Node> LoadYamlDocument(std::string_view text,
                                           std::vector<ConfigError>* errors) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    ConfigError err;
    Locate(e.mark, &err);
    err.message = "invalid YAML: " + e.msg;
    errors->push_back(std::move(err));
    return std::nullopt;
  }
}

void YamlChecker::Fail(const YAML::Node& node, std::string key, std::string message) {
  ConfigError e;
  if (node.IsDefined()) {
    Locate(node.Mark(), &e);
  }
  e.key = std::move(key);
  e.message = std::move(message);
  errors_->push_back(std::move(e));
}

std::string YamlChecker::Join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

std::string YamlChecker::Index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

bool YamlChecker::ExpectMap(const YAML::Node& node, const std::string& path,
                            std::initializer_list<std::string_view> known,
                            std::initializer_list<std::string_view> unsupported) {
  return ExpectMap(node, path, std::span<const std::string_view>(known.begin(), known.size()),
                   std::span<const std::string_view>(unsupported.begin(), unsupported.size()));
}

bool YamlChecker::ExpectMap(const YAML::Node& node, const std::string& path,
                            std::span<const std::string_view> known,
                            std::span<const std::string_view> unsupported) {
  if (!node.IsMap()) {
    Fail(node, path, "must be a map");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      Fail(kv.first, Join(path, key), "duplicate key");
    } else if (Contains(unsupported, key)) {
      Fail(kv.first, Join(path, key), "not supported by calico-bgp-exporter");
    } else if (!Contains(known, key)) {
      Fail(kv.first, Join(path, key), "unknown key (expected one of: " + JoinNames(known) + ")");
    }
  }
  return true;
}

bool YamlChecker::Duration(const YAML::Node& node, const std::string& path,
                           std::chrono::milliseconds* out) {
  if (!Present(node)) {
    return false;
  }
  if (!node.IsScalar()) {
    Fail(node, path, "must be a duration such as 5s or 100ms");
    return false;
  }
  const auto d = ParseDuration(node.Scalar());
  if (!d) {
    Fail(node, path,
         "invalid duration \"" + node.Scalar() + "\" (use a number and a unit: 5s, 100ms, 1m)");
    return false;
  }
  if (d->count() <= 0) {
    Fail(node, path, "must be greater than zero");
    return false;
  }
  *out = *d;
  return true;
}

bool YamlChecker::Bool(const YAML::Node& node, const std::string& path, bool* out) {
  if (!Present(node)) {
    return false;
  }
  bool v = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) {
    Fail(node, path, "must be true or false");
    return false;
  }
  *out = v;
  return true;
}

bool YamlChecker::IntInRange(const YAML::Node& node, const std::string& path, long long min,
                             long long max, long long* out) {
  if (!Present(node)) {
    return false;
  }
  long long v = 0;
  if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v) || v < min || v > max) {
    Fail(node, path,
         "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  *out = v;
  return true;
}

bool YamlChecker::Size(const YAML::Node& node, const std::string& path, std::size_t* out) {
  if (!Present(node)) {
    return false;
  }
  std::size_t v = 0;
  // yaml-cpp converts "-1" to a huge unsigned number: a sign is refused before converting.
  if (!node.IsScalar() || node.Scalar().find('-') != std::string::npos ||
      !YAML::convert<std::size_t>::decode(node, v) || v == 0) {
    Fail(node, path, "must be a positive number of bytes");
    return false;
  }
  *out = v;
  return true;
}

bool YamlChecker::String(const YAML::Node& node, const std::string& path, std::string* out) {
  if (!Present(node)) {
    return false;
  }
  if (!node.IsScalar() || node.Scalar().empty()) {
    Fail(node, path, "must be a non-empty string");
    return false;
  }
  *out = node.Scalar();
  return true;
}

}  // namespace cbe
