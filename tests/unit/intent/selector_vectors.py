#!/usr/bin/env python3
"""Turns the test tables of Calico's selector parser and tokenizer (Go source, read from
calico-selector-tests-*.tar.gz at build time) into JSON for selector_test.cc.

    selector_vectors.py PARSER_TEST_GO TOKENIZER_TEST_GO OUT_JSON

Parses the Go composite literals (strings, nested braces, `strings.Repeat(..) + ..`); nothing is
copied by hand. Fails loudly when a table is missing or shaped unexpectedly.
"""
import json
import re
import sys


def tokenize(src):
    """Tokens of a Go expression subset: strings, idents, numbers, punctuation."""
    toks = []
    i = 0
    while i < len(src):
        c = src[i]
        if c.isspace():
            i += 1
        elif src.startswith("//", i):
            i = src.index("\n", i) if "\n" in src[i:] else len(src)
        elif c == "`":
            j = src.index("`", i + 1)
            toks.append(("str", src[i + 1:j]))
            i = j + 1
        elif c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            toks.append(("str", json.loads(src[i:j + 1])))
            i = j + 1
        elif c.isalnum() or c in "_.[]":
            m = re.match(r"[A-Za-z0-9_.\[\]]+", src[i:])
            toks.append(("id", m.group(0)))
            i += len(m.group(0))
        else:
            toks.append(("p", c))
            i += 1
    return toks


class Parser:
    def __init__(self, toks):
        self.t = toks
        self.i = 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise SystemExit(f"selector_vectors: expected {kind} {value!r}, got {tok!r}")
        self.i += 1
        return tok

    def value(self):
        tok = self.peek()
        if tok[0] == "str" or (tok[0] == "id" and tok[1] == "strings.Repeat"):
            return self.string_expr()
        if tok == ("p", "{"):
            return self.composite()
        if tok[0] == "id":
            self.i += 1
            if tok[1] in ("struct", "[]struct"):  # an anonymous struct type: skip its fields
                self.skip_braces()
            if self.peek() == ("p", "{"):  # a typed composite literal
                return self.composite()
            if tok[1] == "nil":
                return None
            return tok[1]
        raise SystemExit(f"selector_vectors: unexpected {tok!r}")

    def skip_braces(self):
        self.take("p", "{")
        depth = 1
        while depth:
            tok = self.take()
            depth += {("p", "{"): 1, ("p", "}"): -1}.get(tok, 0)

    def string_expr(self):
        out = self.string_term()
        while self.peek() == ("p", "+"):
            self.i += 1
            out += self.string_term()
        return out

    def string_term(self):
        tok = self.take()
        if tok[0] == "str":
            return tok[1]
        self.take("p", "(")
        s = self.string_expr()
        self.take("p", ",")
        n = int(self.take("id")[1])
        self.take("p", ")")
        return s * n

    def composite(self):
        """{a, b} as a list, {k: v, ...} as a dict."""
        self.take("p", "{")
        items, keyed = [], {}
        while self.peek() != ("p", "}"):
            if self.peek(1) == ("p", ":"):
                key = self.take()[1]
                self.take("p", ":")
                keyed[key] = self.value()
            else:
                items.append(self.value())
            if self.peek() == ("p", ","):
                self.i += 1
        self.take("p", "}")
        if keyed and items:
            raise SystemExit("selector_vectors: mixed keyed and positional literal")
        return keyed if keyed or not items else items


def table(src, name):
    m = re.search(r"var " + name + r"\s*=\s*", src)
    if not m:
        raise SystemExit(f"selector_vectors: no table {name}")
    return Parser(tokenize(src[m.end():])).value()


def main():
    parser_src = open(sys.argv[1], encoding="utf-8").read()
    tokenizer_src = open(sys.argv[2], encoding="utf-8").read()
    out = {"selector_tests": [], "bad_selectors": [], "canonical": [], "tokens": []}
    for sel, matches, non_matches in table(parser_src, "selectorTests"):
        out["selector_tests"].append(
            {"selector": sel, "matches": matches or [], "non_matches": non_matches or []})
    out["bad_selectors"] = table(parser_src, "badSelectors")
    for row in table(parser_src, "canonicalisationTests"):
        out["canonical"].append({"input": row[0], "expected": row[1]})
    for row in table(tokenizer_src, "tokenTests"):
        inp, expected = row
        if expected is not None:
            expected = [{"kind": t["Kind"].removeprefix("tokenizer.Tok"),
                         "value": t.get("Value", "")} for t in expected]
        out["tokens"].append({"input": inp, "expected": expected})
    for key, rows in out.items():
        if len(rows) < 10:
            raise SystemExit(f"selector_vectors: only {len(rows)} rows in {key}")
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
