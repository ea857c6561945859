// Calico's selector language (exporter/intent/selector.cc) on arbitrary text: never crashes;
// a selector that parses has a canonical form that parses again to itself and matches the same
// label sets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/intent/selector.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const cbe::intent::TokenizeResult tokens = cbe::intent::Tokenize(text);
  FUZZ_CHECK(tokens.ok() != tokens.tokens.empty());
  const cbe::intent::SelectorParse p = cbe::intent::ParseSelector(text);
  FUZZ_CHECK(p.ok() == p.error.empty());
  if (!tokens.ok()) {
    FUZZ_CHECK(!p.ok());
  }
  if (!p.ok()) {
    return 0;
  }
  const std::string canonical = p.selector->String();
  const cbe::intent::SelectorParse again = cbe::intent::ParseSelector(canonical);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.selector->String() == canonical);
  // Label sets drawn from the input's own words, so matches are reachable.
  cbe::intent::Labels labels;
  for (const cbe::intent::Token& t : tokens.tokens) {
    if (t.kind == cbe::intent::TokenKind::kLabel || t.kind == cbe::intent::TokenKind::kHas) {
      labels[t.value] = labels.size() % 2 == 0 ? "" : t.value;
    } else if (t.kind == cbe::intent::TokenKind::kStringLiteral && !labels.empty()) {
      labels.begin()->second = t.value;
    }
  }
  for (const cbe::intent::Labels& l : {cbe::intent::Labels{}, labels}) {
    FUZZ_CHECK(p.selector->Matches(l) == again.selector->Matches(l));
  }
  return 0;
}
