#include "exporter/intent/selector.h"

#include <algorithm>
#include <utility>

namespace cbe::intent {

struct Selector::Expr {
  enum class Op {
    kAll,
    kGlobal,
    kHas,
    kEq,
    kNe,
    kContains,
    kStartsWith,
    kEndsWith,
    kIn,
    kNotIn,
    kNot,
    kAnd,
    kOr,
  };
  Op op = Op::kAll;
  std::string label;
  std::string value;
  std::vector<std::string> set;  // sorted, unique
  std::vector<Expr> children;
};

namespace {

using Expr = Selector::Expr;
using Op = Expr::Op;

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '/' || c == '-';
}

// Calico's tokenizer skips spaces and tabs only.
std::string_view TrimWhitespace(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && (in[i] == ' ' || in[i] == '\t')) {
    ++i;
  }
  return in.substr(i);
}

bool IsWordBoundary(std::string_view rest) { return rest.empty() || !IsIdentifierChar(rest[0]); }

// Cuts `word` off `in` when a word boundary follows it.
bool CutWord(std::string_view& in, std::string_view word) {
  if (in.substr(0, word.size()) != word || !IsWordBoundary(in.substr(word.size()))) {
    return false;
  }
  in.remove_prefix(word.size());
  return true;
}

// Cuts two words with optional blanks between them ("starts with", "startswith").
bool CutTwoWords(std::string_view& in, std::string_view first, std::string_view second) {
  std::string_view rest = in;
  if (rest.substr(0, first.size()) != first) {
    return false;
  }
  rest = TrimWhitespace(rest.substr(first.size()));
  if (rest.substr(0, second.size()) != second) {
    return false;
  }
  rest = TrimWhitespace(rest.substr(second.size()));
  if (!IsWordBoundary(rest)) {
    return false;
  }
  in = rest;
  return true;
}

bool CutPrefix(std::string_view& in, std::string_view prefix) {
  if (in.substr(0, prefix.size()) != prefix) {
    return false;
  }
  in.remove_prefix(prefix.size());
  return true;
}

// An identifier (label name); empty or over-long ones are an error.
std::string CutIdentifier(std::string_view& in, std::string& error) {
  std::size_t n = 0;
  while (n < in.size() && IsIdentifierChar(in[n])) {
    ++n;
  }
  std::string ident(in.substr(0, n));
  in.remove_prefix(n);
  if (ident.empty()) {
    error = "expected identifier";
  } else if (ident.size() > kMaxLabelLength) {
    error = "label too long (" + std::to_string(ident.size()) + " characters, at most " +
            std::to_string(kMaxLabelLength) + ")";
  }
  return ident;
}

// After a label only an operator may follow.
std::string CutOperatorAfterLabel(std::string_view& in, std::vector<Token>& tokens) {
  if (CutWord(in, "contains")) {
    tokens.push_back({TokenKind::kContains, ""});
  } else if (CutTwoWords(in, "starts", "with")) {
    tokens.push_back({TokenKind::kStartsWith, ""});
  } else if (CutTwoWords(in, "ends", "with")) {
    tokens.push_back({TokenKind::kEndsWith, ""});
  } else if (CutTwoWords(in, "not", "in")) {
    tokens.push_back({TokenKind::kNotIn, ""});
  } else if (CutWord(in, "in")) {
    tokens.push_back({TokenKind::kIn, ""});
  } else {
    return "expected operator after label \"" + tokens.back().value + "\"";
  }
  return "";
}

// has(label), all(), global(), or a label.
std::string CutFunctionOrLabel(std::string_view& in, std::vector<Token>& tokens) {
  std::string error;
  if (CutPrefix(in, "has(")) {
    in = TrimWhitespace(in);
    std::string ident = CutIdentifier(in, error);
    if (!error.empty()) {
      return error;
    }
    in = TrimWhitespace(in);
    if (!CutPrefix(in, ")")) {
      return "no closing ')' after has(";
    }
    tokens.push_back({TokenKind::kHas, std::move(ident)});
    return "";
  }
  for (const auto& [fn, kind] :
       {std::pair{"all(", TokenKind::kAll}, {"global(", TokenKind::kGlobal}}) {
    if (CutPrefix(in, fn)) {
      in = TrimWhitespace(in);
      if (!CutPrefix(in, ")")) {
        return std::string("no closing ')' after ") + fn;
      }
      tokens.push_back({kind, ""});
      return "";
    }
  }
  std::string ident = CutIdentifier(in, error);
  if (!error.empty()) {
    return error;
  }
  tokens.push_back({TokenKind::kLabel, std::move(ident)});
  return "";
}

std::string CutQuoted(std::string_view& in, std::vector<Token>& tokens) {
  const char quote = in[0];
  in.remove_prefix(1);
  const std::size_t end = in.find(quote);
  if (end == std::string_view::npos) {
    return "unterminated string";
  }
  tokens.push_back({TokenKind::kStringLiteral, std::string(in.substr(0, end))});
  in.remove_prefix(end + 1);
  return "";
}

// One token off the front of `in` (never empty); the error, or "".
std::string CutToken(std::string_view& in, std::vector<Token>& tokens) {
  auto single = [&](TokenKind kind) {
    tokens.push_back({kind, ""});
    in.remove_prefix(1);
    return std::string();
  };
  auto pair = [&](std::string_view two, TokenKind kind) {
    if (!CutPrefix(in, two)) {
      return "expected " + std::string(two);
    }
    tokens.push_back({kind, ""});
    return std::string();
  };
  switch (in[0]) {
    case '(':
      return single(TokenKind::kLParen);
    case ')':
      return single(TokenKind::kRParen);
    case '{':
      return single(TokenKind::kLBrace);
    case '}':
      return single(TokenKind::kRBrace);
    case ',':
      return single(TokenKind::kComma);
    case '"':
    case '\'':
      return CutQuoted(in, tokens);
    case '=':
      return pair("==", TokenKind::kEq);
    case '&':
      return pair("&&", TokenKind::kAnd);
    case '|':
      return pair("||", TokenKind::kOr);
    case '!':
      if (CutPrefix(in, "!=")) {
        tokens.push_back({TokenKind::kNe, ""});
        return "";
      }
      return single(TokenKind::kNot);
    default:
      if (!tokens.empty() && tokens.back().kind == TokenKind::kLabel) {
        return CutOperatorAfterLabel(in, tokens);
      }
      return CutFunctionOrLabel(in, tokens);
  }
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  std::string ParseRoot(Expr& out) {
    if (Peek().kind == TokenKind::kEof) {
      out.op = Op::kAll;
      return "";
    }
    std::string error = ParseOr(out, 0);
    if (error.empty() && Peek().kind != TokenKind::kEof) {
      error = "unexpected " + Describe(Peek()) + " at end of selector";
    }
    return error;
  }

 private:
  const Token& Peek(std::size_t ahead = 0) const {
    const std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }

  static std::string Describe(const Token& t) {
    std::string s(TokenKindName(t.kind));
    if (!t.value.empty()) {
      s += "(" + t.value + ")";
    }
    return s;
  }

  // a || b || ...: a list of And expressions.
  std::string ParseOr(Expr& out, int depth) {
    return ParseList(out, depth, TokenKind::kOr, Op::kOr, &Parser::ParseAnd);
  }
  std::string ParseAnd(Expr& out, int depth) {
    return ParseList(out, depth, TokenKind::kAnd, Op::kAnd, &Parser::ParseOperation);
  }

  std::string ParseList(Expr& out, int depth, TokenKind separator, Op op,
                        std::string (Parser::*item)(Expr&, int)) {
    std::vector<Expr> items(1);
    std::string error = (this->*item)(items.back(), depth);
    while (error.empty() && Peek().kind == separator) {
      ++pos_;
      items.emplace_back();
      error = (this->*item)(items.back(), depth);
    }
    if (!error.empty()) {
      return error;
    }
    if (items.size() == 1) {
      out = std::move(items.front());
    } else {
      out.op = op;
      out.children = std::move(items);
    }
    return "";
  }

  std::string ParseOperation(Expr& out, int depth) {
    bool negated = false;
    while (Peek().kind == TokenKind::kNot) {
      negated = !negated;
      ++pos_;
    }
    Expr inner;
    std::string error = ParseTerm(inner, depth);
    if (!error.empty()) {
      return error;
    }
    if (negated && inner.op == Op::kNot) {
      // !(!x): printed as "!!x" it would parse back as x, so fold it here.
      Expr x = std::move(inner.children.front());
      out = std::move(x);
    } else if (negated) {
      out.op = Op::kNot;
      out.children.push_back(std::move(inner));
    } else {
      out = std::move(inner);
    }
    return "";
  }

  std::string ParseTerm(Expr& out, int depth) {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kHas:
        out.op = Op::kHas;
        out.label = t.value;
        ++pos_;
        return "";
      case TokenKind::kAll:
        out.op = Op::kAll;
        ++pos_;
        return "";
      case TokenKind::kGlobal:
        out.op = Op::kGlobal;
        ++pos_;
        return "";
      case TokenKind::kLabel:
        return ParseComparison(out);
      case TokenKind::kLParen: {
        if (depth >= kMaxSelectorDepth) {
          return "parentheses nested deeper than " + std::to_string(kMaxSelectorDepth);
        }
        ++pos_;
        std::string error = ParseOr(out, depth + 1);
        if (!error.empty()) {
          return error;
        }
        if (Peek().kind != TokenKind::kRParen) {
          return "expected )";
        }
        ++pos_;
        return "";
      }
      case TokenKind::kEof:
        return "unexpected end of selector";
      default:
        return "unexpected token " + Describe(t);
    }
  }

  std::string ParseComparison(Expr& out) {
    out.label = Peek().value;
    const TokenKind op = Peek(1).kind;
    if (op == TokenKind::kEof) {
      return "unexpected end of selector after label \"" + out.label + "\"";
    }
    static constexpr std::pair<TokenKind, Op> kValueOps[] = {
        {TokenKind::kEq, Op::kEq},
        {TokenKind::kNe, Op::kNe},
        {TokenKind::kContains, Op::kContains},
        {TokenKind::kStartsWith, Op::kStartsWith},
        {TokenKind::kEndsWith, Op::kEndsWith},
    };
    for (const auto& [kind, expr_op] : kValueOps) {
      if (op == kind) {
        if (Peek(2).kind != TokenKind::kStringLiteral) {
          return "expected string after " + Describe(Peek(1));
        }
        out.op = expr_op;
        out.value = Peek(2).value;
        pos_ += 3;
        return "";
      }
    }
    if (op == TokenKind::kIn || op == TokenKind::kNotIn) {
      out.op = op == TokenKind::kIn ? Op::kIn : Op::kNotIn;
      return ParseSet(out);
    }
    return "expected == or != not " + Describe(Peek(1));
  }

  // { "a", "b", } (a trailing comma is accepted, as Calico does).
  std::string ParseSet(Expr& out) {
    if (Peek(2).kind != TokenKind::kLBrace) {
      return "expected set literal";
    }
    pos_ += 3;
    while (Peek().kind == TokenKind::kStringLiteral) {
      out.set.push_back(Peek().value);
      ++pos_;
      if (Peek().kind != TokenKind::kComma) {
        break;
      }
      ++pos_;
    }
    if (Peek().kind != TokenKind::kRBrace) {
      return "expected }";
    }
    ++pos_;
    std::sort(out.set.begin(), out.set.end());
    out.set.erase(std::unique(out.set.begin(), out.set.end()), out.set.end());
    return "";
  }

  const std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
};

const std::string* Find(const Labels& labels, const std::string& key) {
  const auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

bool Evaluate(const Expr& e, const Labels& labels) {
  switch (e.op) {
    case Op::kAll:
    case Op::kGlobal:
      return true;
    case Op::kHas:
      return labels.contains(e.label);
    case Op::kEq: {
      const std::string* v = Find(labels, e.label);
      return v != nullptr && *v == e.value;
    }
    case Op::kNe: {
      const std::string* v = Find(labels, e.label);
      return v == nullptr || *v != e.value;
    }
    case Op::kContains: {
      const std::string* v = Find(labels, e.label);
      return v != nullptr && v->find(e.value) != std::string::npos;
    }
    case Op::kStartsWith: {
      const std::string* v = Find(labels, e.label);
      return v != nullptr && v->starts_with(e.value);
    }
    case Op::kEndsWith: {
      const std::string* v = Find(labels, e.label);
      return v != nullptr && v->ends_with(e.value);
    }
    case Op::kIn: {
      const std::string* v = Find(labels, e.label);
      return v != nullptr && std::binary_search(e.set.begin(), e.set.end(), *v);
    }
    case Op::kNotIn: {
      const std::string* v = Find(labels, e.label);
      return v == nullptr || !std::binary_search(e.set.begin(), e.set.end(), *v);
    }
    case Op::kNot:
      return !Evaluate(e.children.front(), labels);
    case Op::kAnd:
      return std::all_of(e.children.begin(), e.children.end(),
                         [&](const Expr& c) { return Evaluate(c, labels); });
    case Op::kOr:
      return std::any_of(e.children.begin(), e.children.end(),
                         [&](const Expr& c) { return Evaluate(c, labels); });
  }
  return false;
}

std::string Quote(const std::string& v) {
  const char q = v.find('"') == std::string::npos ? '"' : '\'';
  return q + v + q;
}

void Print(const Expr& e, std::string& out) {
  auto comparison = [&](std::string_view op) {
    out += e.label;
    out += op;
    out += Quote(e.value);
  };
  auto set = [&](std::string_view op) {
    out += e.label;
    out += op;
    out += "{";
    for (std::size_t i = 0; i < e.set.size(); ++i) {
      out += (i == 0 ? "" : ", ") + Quote(e.set[i]);
    }
    out += "}";
  };
  auto list = [&](std::string_view separator) {
    out += "(";
    for (std::size_t i = 0; i < e.children.size(); ++i) {
      if (i > 0) {
        out += separator;
      }
      Print(e.children[i], out);
    }
    out += ")";
  };
  switch (e.op) {
    case Op::kAll:
      out += "all()";
      return;
    case Op::kGlobal:
      out += "global()";
      return;
    case Op::kHas:
      out += "has(" + e.label + ")";
      return;
    case Op::kEq:
      return comparison(" == ");
    case Op::kNe:
      return comparison(" != ");
    case Op::kContains:
      return comparison(" contains ");
    case Op::kStartsWith:
      return comparison(" starts with ");
    case Op::kEndsWith:
      return comparison(" ends with ");
    case Op::kIn:
      return set(" in ");
    case Op::kNotIn:
      return set(" not in ");
    case Op::kNot:
      out += "!";
      Print(e.children.front(), out);
      return;
    case Op::kAnd:
      return list(" && ");
    case Op::kOr:
      return list(" || ");
  }
}

}  // namespace

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kLabel:
      return "Label";
    case TokenKind::kStringLiteral:
      return "StringLiteral";
    case TokenKind::kLBrace:
      return "LBrace";
    case TokenKind::kRBrace:
      return "RBrace";
    case TokenKind::kComma:
      return "Comma";
    case TokenKind::kEq:
      return "Eq";
    case TokenKind::kNe:
      return "Ne";
    case TokenKind::kIn:
      return "In";
    case TokenKind::kNot:
      return "Not";
    case TokenKind::kNotIn:
      return "NotIn";
    case TokenKind::kContains:
      return "Contains";
    case TokenKind::kStartsWith:
      return "StartsWith";
    case TokenKind::kEndsWith:
      return "EndsWith";
    case TokenKind::kAll:
      return "All";
    case TokenKind::kHas:
      return "Has";
    case TokenKind::kLParen:
      return "LParen";
    case TokenKind::kRParen:
      return "RParen";
    case TokenKind::kAnd:
      return "And";
    case TokenKind::kOr:
      return "Or";
    case TokenKind::kGlobal:
      return "Global";
    case TokenKind::kEof:
      return "EOF";
  }
  return "?";
}

TokenizeResult Tokenize(std::string_view input) {
  TokenizeResult r;
  while (true) {
    input = TrimWhitespace(input);
    if (input.empty()) {
      r.tokens.push_back({TokenKind::kEof, ""});
      return r;
    }
    r.error = CutToken(input, r.tokens);
    if (!r.error.empty()) {
      r.tokens.clear();
      return r;
    }
  }
}

SelectorParse ParseSelector(std::string_view input) {
  SelectorParse r;
  TokenizeResult t = Tokenize(input);
  if (!t.ok()) {
    r.error = t.error;
    return r;
  }
  auto root = std::make_shared<Expr>();
  r.error = Parser(t.tokens).ParseRoot(*root);
  if (r.error.empty()) {
    r.selector.emplace(std::move(root));
  }
  return r;
}

bool Selector::Matches(const Labels& labels) const { return Evaluate(*root_, labels); }

std::string Selector::String() const {
  std::string out;
  Print(*root_, out);
  return out;
}

bool Selector::MatchesEverything() const {
  return root_->op == Expr::Op::kAll || root_->op == Expr::Op::kGlobal;
}

}  // namespace cbe::intent
