#pragma once

// The one YAML validator of both config files (the config file and the web config file): known
// keys per mapping, duplicate keys, value types, and every error collected with its line, column
// and key path, for `file:line:col: path.to.key: message`.
//
// Each loader walks its document with a YamlChecker: ExpectMap for a mapping of fixed keys,
// ForEachEntry for a mapping of names the user chooses (user names, header names), and the typed
// readers for values. A reader leaves its output unchanged when the key is absent or null.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/config/config_error.h"

namespace cbe {

// Parses one YAML document. A syntax error is one "invalid YAML: ..." error at its position, and
// nullopt.
std::optional<YAML::Node> LoadYamlDocument(std::string_view text, std::vector<ConfigError>* errors);

class YamlChecker {
 public:
  explicit YamlChecker(std::vector<ConfigError>* errors) : errors_(errors) {}

  // An error at `node`'s position (line 0 when the node has none).
  void Fail(const YAML::Node& node, std::string key, std::string message);

  // Given and not null.
  static bool Present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }
  // "a.b" ("b" at the top); "a[3]".
  static std::string Join(std::string_view path, std::string_view key);
  static std::string Index(std::string_view path, std::size_t i);

  // `node` must be a map whose keys are unique and in `known`; keys in `unsupported` are known
  // elsewhere (e.g. exporter-toolkit's) but not implemented here. Reports every bad key; false
  // only when `node` is not a map.
  bool ExpectMap(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> known,
                 std::initializer_list<std::string_view> unsupported = {});
  // The same with the known keys worked out at run time (the probers' sections).
  bool ExpectMap(const YAML::Node& node, const std::string& path,
                 std::span<const std::string_view> known,
                 std::span<const std::string_view> unsupported = {});

  // A map of names the user chooses: calls each(key_node, value_node, key_path) for every key
  // but a repeated one, which is an error `duplicate_message`. False when `node` is not a map
  // (error `not_a_map`).
  template <typename F>
  bool ForEachEntry(const YAML::Node& node, const std::string& path, std::string_view not_a_map,
                    std::string_view duplicate_message, F each);

  // A list: calls each(item, item_path). False when `node` is not a list (error `not_a_list`).
  template <typename F>
  bool ForEachItem(const YAML::Node& node, const std::string& path, std::string_view not_a_list,
                   F each);

  // A list of non-empty strings: each(item, item_path, value).
  template <typename F>
  void StringList(const YAML::Node& node, const std::string& path, F each);

  // Typed values. Each returns true when it stored a value.
  bool Duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds* out);
  bool Bool(const YAML::Node& node, const std::string& path, bool* out);
  bool Size(const YAML::Node& node, const std::string& path, std::size_t* out);
  bool String(const YAML::Node& node, const std::string& path, std::string* out);  // Non-empty.
  template <typename T>
  bool Int(const YAML::Node& node, const std::string& path, T min, T max, T* out);

  // Runs `checks(*this)`; a yaml-cpp exception they throw becomes one error at `root`,
  // "`what`: ..." (a conversion yaml-cpp refuses, never a crash).
  template <typename F>
  void Run(const YAML::Node& root, std::string_view what, F checks);

 private:
  bool IntInRange(const YAML::Node& node, const std::string& path, long long min, long long max,
                  long long* out);

  std::vector<ConfigError>* errors_;
};

template <typename F>
bool YamlChecker::ForEachEntry(const YAML::Node& node, const std::string& path,
                               std::string_view not_a_map, std::string_view duplicate_message,
                               F each) {
  if (!node.IsMap()) {
    Fail(node, path, std::string(not_a_map));
    return false;
  }
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = Join(path, name);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      Fail(kv.first, key, std::string(duplicate_message));
      continue;
    }
    seen.push_back(name);
    each(kv.first, kv.second, key);
  }
  return true;
}

template <typename F>
bool YamlChecker::ForEachItem(const YAML::Node& node, const std::string& path,
                              std::string_view not_a_list, F each) {
  if (!node.IsSequence()) {
    Fail(node, path, std::string(not_a_list));
    return false;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    each(node[i], Index(path, i));
  }
  return true;
}

template <typename F>
void YamlChecker::StringList(const YAML::Node& node, const std::string& path, F each) {
  if (!Present(node)) {
    return;
  }
  ForEachItem(node, path, "must be a list of strings",
              [&](const YAML::Node& item, const std::string& key) {
                if (!item.IsScalar() || item.Scalar().empty()) {
                  Fail(item, key, "must be a non-empty string");
                  return;
                }
                each(item, key, item.Scalar());
              });
}

template <typename T>
bool YamlChecker::Int(const YAML::Node& node, const std::string& path, T min, T max, T* out) {
  long long v = 0;
  if (!IntInRange(node, path, min, max, &v)) {
    return false;
  }
  *out = static_cast<T>(v);
  return true;
}

template <typename F>
void YamlChecker::Run(const YAML::Node& root, std::string_view what, F checks) {
  try {
    checks(*this);
  } catch (const YAML::Exception& e) {
    Fail(root, "", std::string(what) + ": " + e.what());
  }
}

}  // namespace cbe
