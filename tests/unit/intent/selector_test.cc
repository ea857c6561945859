// Calico's selector language on Calico's own test vectors (libcalico-go lib/selector parser and
// tokenizer tests, turned into JSON by selector_vectors.py at build time), plus our limits.

#include "exporter/intent/selector.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using namespace cbe::intent;

const nlohmann::json& Vectors() {
  static const nlohmann::json v = [] {
    std::ifstream f(CBE_INTENT_VECTORS);
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  }();
  return v;
}

Labels ToLabels(const nlohmann::json& j) {
  Labels l;
  for (const auto& [k, v] : j.items()) {
    l[k] = v.get<std::string>();
  }
  return l;
}

TEST_CASE("Calico's selector vectors: matches and non-matches", "[unit][intent]") {
  const nlohmann::json& tests = Vectors().at("selector_tests");
  REQUIRE(tests.size() >= 50);
  for (const nlohmann::json& t : tests) {
    const std::string sel = t.at("selector");
    INFO("selector <" << sel << ">");
    const SelectorParse p = ParseSelector(sel);
    INFO("error: " << p.error);
    REQUIRE(p.ok());
    // ... and the same after canonicalising, as Calico's test does.
    const SelectorParse canon = ParseSelector(p.selector->String());
    INFO("canonical <" << p.selector->String() << "> error: " << canon.error);
    REQUIRE(canon.ok());
    for (const nlohmann::json& labels : t.at("matches")) {
      INFO("labels " << labels.dump());
      CHECK(p.selector->Matches(ToLabels(labels)));
      CHECK(canon.selector->Matches(ToLabels(labels)));
    }
    for (const nlohmann::json& labels : t.at("non_matches")) {
      INFO("labels " << labels.dump());
      CHECK_FALSE(p.selector->Matches(ToLabels(labels)));
      CHECK_FALSE(canon.selector->Matches(ToLabels(labels)));
    }
  }
}

TEST_CASE("Calico's selector vectors: bad selectors are errors", "[unit][intent]") {
  const nlohmann::json& bad = Vectors().at("bad_selectors");
  REQUIRE(bad.size() >= 20);
  for (const nlohmann::json& b : bad) {
    const SelectorParse p = ParseSelector(b.get<std::string>());
    INFO("selector <" << b.get<std::string>() << ">");
    CHECK_FALSE(p.ok());
    CHECK_FALSE(p.error.empty());
  }
}

TEST_CASE("Calico's selector vectors: canonical form round-trips", "[unit][intent]") {
  for (const nlohmann::json& c : Vectors().at("canonical")) {
    const std::string input = c.at("input");
    INFO("selector <" << input << ">");
    const SelectorParse p = ParseSelector(input);
    REQUIRE(p.ok());
    CHECK(p.selector->String() == c.at("expected").get<std::string>());
    const SelectorParse again = ParseSelector(p.selector->String());
    REQUIRE(again.ok());
    CHECK(again.selector->String() == p.selector->String());
  }
}

TEST_CASE("Calico's tokenizer vectors", "[unit][intent]") {
  const nlohmann::json& tests = Vectors().at("tokens");
  REQUIRE(tests.size() >= 40);
  for (const nlohmann::json& t : tests) {
    const std::string input = t.at("input");
    INFO("input <" << input.substr(0, 80) << ">");
    const TokenizeResult r = Tokenize(input);
    if (t.at("expected").is_null()) {
      CHECK_FALSE(r.ok());
      continue;
    }
    INFO("error: " << r.error);
    REQUIRE(r.ok());
    REQUIRE(r.tokens.size() == t.at("expected").size());
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      CHECK(std::string(TokenKindName(r.tokens[i].kind)) ==
            t.at("expected")[i].at("kind").get<std::string>());
      CHECK(r.tokens[i].value == t.at("expected")[i].at("value").get<std::string>());
    }
  }
}

TEST_CASE("selectors: our limits and messages", "[unit][intent]") {
  CHECK(ParseSelector(std::string(kMaxSelectorDepth, '(') + "all()" +
                      std::string(kMaxSelectorDepth, ')'))
            .ok());
  const SelectorParse deep = ParseSelector(std::string(kMaxSelectorDepth + 1, '(') + "all()" +
                                           std::string(kMaxSelectorDepth + 1, ')'));
  CHECK_FALSE(deep.ok());
  CHECK(deep.error.find("nested deeper") != std::string::npos);
  CHECK(ParseSelector("rack == 'r1").error == "unterminated string");
  // An unquoted value is a label: "rack == r1" does not parse (Calico's users hit this).
  CHECK_FALSE(ParseSelector("rack == r1").ok());
  const SelectorParse g = ParseSelector("global()");
  REQUIRE(g.ok());
  CHECK(g.selector->MatchesEverything());
  CHECK(g.selector->Matches({}));
  const SelectorParse s = ParseSelector("a in {'x', \"y\",} && !has(b)");
  REQUIRE(s.ok());
  CHECK(s.selector->Matches({{"a", "y"}}));
  CHECK_FALSE(s.selector->Matches({{"a", "y"}, {"b", ""}}));
  CHECK(s.selector->String() == "(a in {\"x\", \"y\"} && !has(b))");
  // Fuzz find: !(!x) must print as something that parses back to itself.
  const SelectorParse dn = ParseSelector("!(!a == 'b')");
  REQUIRE(dn.ok());
  CHECK(dn.selector->String() == "a == \"b\"");
  CHECK(dn.selector->Matches({{"a", "b"}}));
}

}  // namespace
