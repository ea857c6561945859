#include "exporter/config/yaml_schema.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "exporter/config/config.h"
#include "exporter/config/web_config.h"

namespace cbe {
namespace {

std::vector<std::string> Format(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.Format("f.yml"));
  }
  return out;
}

std::vector<std::string> ConfigErrors(const std::string& yaml) {
  return Format(ParseConfig(yaml).errors);
}

std::vector<std::string> WebErrors(const std::string& yaml) {
  return Format(ParseWebConfig(yaml, "/").errors);
}

// What both config files get from the one validator, with the same message in each.
TEST_CASE("yaml schema: the cases both config files share", "[unit]") {
  struct Case {
    std::string config_yaml;
    std::string web_yaml;
    std::vector<std::string> errors;  // The same for both files.
  };
  const std::vector<Case> cases = {
      {"bird: [\n",
       "tls_server_config: [\n",
       {"f.yml:2:1: invalid YAML: end of sequence flow not found"}},
      {"- a\n", "- a\n", {"f.yml:1:1: must be a map"}},
      {"\"x\": 1\n", "\"x\": 1\n", {}},  // Filled in below: each file's own key list.
      {"bird: {}\nbird: {}\n", "http_server_config: {}\nhttp_server_config: {}\n", {}},
      {"bird:\n  interval: 5s\n  interval: 6s\n",
       "http_server_config:\n  http2: true\n  http2: false\n",
       {}},
      {"probes:\n  tcp:\n    enabled: maybe\n", "http_server_config:\n    http2: maybe\n", {}},
  };
  // Unknown keys: the same message, each with its own list of keys.
  CHECK(ConfigErrors(cases[2].config_yaml) ==
        std::vector<std::string>{
            "f.yml:1:1: x: unknown key (expected one of: node_name, intent, bird, peers, probes, "
            "clock, metrics, diagnosis)"});
  CHECK(WebErrors(cases[2].web_yaml) ==
        std::vector<std::string>{"f.yml:1:1: x: unknown key (expected one of: tls_server_config, "
                                 "http_server_config, basic_auth_users)"});
  // Duplicate keys, at the top and nested.
  CHECK(ConfigErrors(cases[3].config_yaml) ==
        std::vector<std::string>{"f.yml:2:1: bird: duplicate key"});
  CHECK(WebErrors(cases[3].web_yaml) ==
        std::vector<std::string>{"f.yml:2:1: http_server_config: duplicate key"});
  CHECK(ConfigErrors(cases[4].config_yaml) ==
        std::vector<std::string>{"f.yml:3:3: bird.interval: duplicate key"});
  CHECK(WebErrors(cases[4].web_yaml) ==
        std::vector<std::string>{"f.yml:3:3: http_server_config.http2: duplicate key"});
  // Booleans.
  CHECK(ConfigErrors(cases[5].config_yaml) ==
        std::vector<std::string>{"f.yml:3:14: probes.tcp.enabled: must be true or false"});
  CHECK(WebErrors(cases[5].web_yaml) ==
        std::vector<std::string>{"f.yml:2:12: http_server_config.http2: must be true or false"});
  for (const Case& c : {cases[0], cases[1]}) {
    INFO(c.config_yaml);
    CHECK(ConfigErrors(c.config_yaml) == c.errors);
    CHECK(WebErrors(c.web_yaml) == c.errors);
  }
}

// The checker on its own: each invalid value with its exact message.
TEST_CASE("yaml schema: typed values and their exact messages", "[unit]") {
  struct Case {
    std::string yaml;  // One key `v`.
    std::string kind;
    std::vector<std::string> errors;
  };
  const std::vector<Case> cases = {
      {"v: 5x",
       "duration",
       {"f.yml:1:4: v: invalid duration \"5x\" (use a number and a unit: 5s, 100ms, 1m)"}},
      {"v: 0ms", "duration", {"f.yml:1:4: v: must be greater than zero"}},
      {"v: {a: 1}", "duration", {"f.yml:1:4: v: must be a duration such as 5s or 100ms"}},
      {"v: 100ms", "duration", {}},
      {"v: yes please", "bool", {"f.yml:1:4: v: must be true or false"}},
      {"v: off", "bool", {}},
      {"v: 11", "int", {"f.yml:1:4: v: must be a whole number from 1 to 10"}},
      {"v: 0x5", "int", {}},
      {"v: five", "int", {"f.yml:1:4: v: must be a whole number from 1 to 10"}},
      {"v: -5", "size", {"f.yml:1:4: v: must be a positive number of bytes"}},
      {"v: 0", "size", {"f.yml:1:4: v: must be a positive number of bytes"}},
      {"v: 4096", "size", {}},
      {"v: ''", "string", {"f.yml:1:4: v: must be a non-empty string"}},
      {"v: [a]", "string", {"f.yml:1:4: v: must be a non-empty string"}},
      {"v: ~", "string", {}},  // Null: absent, nothing stored and nothing wrong.
      {"v: [a, '', [b]]",
       "list",
       {"f.yml:1:8: v[1]: must be a non-empty string",
        "f.yml:1:12: v[2]: must be a non-empty string"}},
      {"v: a", "list", {"f.yml:1:4: v: must be a list of strings"}},
      {"v: {x: 1, y: 2, x: 3}", "entries", {"f.yml:1:17: v.x: seen before"}},
      {"v: [x]", "entries", {"f.yml:1:4: v: must be a map of names"}},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    std::vector<ConfigError> errors;
    const auto root = LoadYamlDocument(c.yaml, &errors);
    REQUIRE(root);
    YamlChecker v(&errors);
    const YAML::Node node = (*root)["v"];
    std::vector<std::string> seen;
    if (c.kind == "duration") {
      std::chrono::milliseconds d{0};
      CHECK(v.Duration(node, "v", &d) == (c.errors.empty() && YamlChecker::Present(node)));
    } else if (c.kind == "bool") {
      bool b = true;
      v.Bool(node, "v", &b);
    } else if (c.kind == "int") {
      int i = 0;
      v.Int(node, "v", 1, 10, &i);
    } else if (c.kind == "size") {
      std::size_t n = 0;
      v.Size(node, "v", &n);
    } else if (c.kind == "string") {
      std::string s = "unchanged";
      CHECK_FALSE(v.String(node, "v", &s) != (c.errors.empty() && YamlChecker::Present(node)));
      if (!YamlChecker::Present(node)) {
        CHECK(s == "unchanged");
      }
    } else if (c.kind == "list") {
      v.StringList(node, "v", [&](const YAML::Node&, const std::string&, const std::string& s) {
        seen.push_back(s);
      });
    } else if (c.kind == "entries") {
      v.ForEachEntry(node, "v", "must be a map of names", "seen before",
                     [&](const YAML::Node& k, const YAML::Node&, const std::string& key) {
                       seen.push_back(key + "=" + k.Scalar());
                     });
    }
    CHECK(Format(errors) == c.errors);
    if (c.kind == "entries" && c.errors.size() == 1 && node.IsMap()) {
      CHECK(seen == std::vector<std::string>{"v.x=x", "v.y=y"});  // The repeat is skipped.
    }
    if (c.kind == "list" && node.IsSequence()) {
      CHECK(seen == std::vector<std::string>{"a"});
    }
  }
}

TEST_CASE("yaml schema: values are stored only when valid", "[unit]") {
  std::vector<ConfigError> errors;
  const auto root = LoadYamlDocument("d: 1m30s\nb: false\ni: 7\nz: 4096\ns: x\n", &errors);
  REQUIRE(root);
  YamlChecker v(&errors);
  std::chrono::milliseconds d{0};
  bool b = true;
  int i = 0;
  std::size_t z = 0;
  std::string s;
  CHECK(v.Duration((*root)["d"], "d", &d));
  CHECK(v.Bool((*root)["b"], "b", &b));
  CHECK(v.Int((*root)["i"], "i", 1, 10, &i));
  CHECK(v.Size((*root)["z"], "z", &z));
  CHECK(v.String((*root)["s"], "s", &s));
  CHECK(errors.empty());
  CHECK(d == std::chrono::milliseconds(90000));
  CHECK_FALSE(b);
  CHECK(i == 7);
  CHECK(z == 4096u);
  CHECK(s == "x");
}

TEST_CASE("yaml schema: a conversion yaml-cpp throws on becomes one error", "[unit]") {
  std::vector<ConfigError> errors;
  const auto root = LoadYamlDocument("a: [1]\n", &errors);
  REQUIRE(root);
  YamlChecker v(&errors);
  v.Run(*root, "invalid config",
        [](YamlChecker&) { throw YAML::TypedBadConversion<int>(YAML::Mark::null_mark()); });
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].Format("f.yml") == "f.yml:1:1: invalid config: bad conversion");
}

}  // namespace
}  // namespace cbe
