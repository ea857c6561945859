#pragma once

// Calico's label selector language (libcalico-go lib/selector), complete: all(), global(),
// has(k), k == "v", k != "v", k in {..}, k not in {..}, contains, starts with, ends with, !, &&,
// ||, parentheses, both quote styles. Pure: a string in, a Selector or an error message out.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cbe::intent {

using Labels = std::map<std::string, std::string, std::less<>>;

enum class TokenKind {
  kLabel,
  kStringLiteral,
  kLBrace,
  kRBrace,
  kComma,
  kEq,
  kNe,
  kIn,
  kNot,
  kNotIn,
  kContains,
  kStartsWith,
  kEndsWith,
  kAll,
  kHas,
  kLParen,
  kRParen,
  kAnd,
  kOr,
  kGlobal,
  kEof,
};

// The name Calico's tokenizer gives the kind without its "Tok" prefix ("Label", "NotIn", ...).
std::string_view TokenKindName(TokenKind kind);

struct Token {
  TokenKind kind;
  std::string value;  // label, string literal, or has()'s label; empty otherwise
  bool operator==(const Token&) const = default;
};

struct TokenizeResult {
  std::vector<Token> tokens;  // ends with kEof when ok
  std::string error;          // empty when ok
  bool ok() const { return error.empty(); }
};

// Longest label Calico accepts.
inline constexpr std::size_t kMaxLabelLength = 512;
// Deepest parenthesis nesting accepted (Calico has no limit; we refuse rather than recurse
// without bound).
inline constexpr int kMaxSelectorDepth = 100;

TokenizeResult Tokenize(std::string_view input);

class Selector {
 public:
  struct Expr;
  explicit Selector(std::shared_ptr<const Expr> root) : root_(std::move(root)) {}

  bool Matches(const Labels& labels) const;
  // Calico's canonical form: "all()" for the empty selector, And/Or in parentheses, set items
  // sorted and de-duplicated, strings in double quotes unless they hold one.
  std::string String() const;
  // True when the selector is all() or global() (or empty): it matches every node.
  bool MatchesEverything() const;

 private:
  std::shared_ptr<const Expr> root_;
};

struct SelectorParse {
  std::optional<Selector> selector;
  std::string error;  // empty when selector is set
  bool ok() const { return selector.has_value(); }
};

SelectorParse ParseSelector(std::string_view input);

}  // namespace cbe::intent
