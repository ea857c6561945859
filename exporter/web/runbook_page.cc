#include "exporter/web/runbook_page.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "exporter/base/version.h"
#include "exporter/web/http_pages.h"

namespace cbe {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Link {
  std::string_view text;
  std::string_view url;
  std::size_t end;  // Just past the closing parenthesis.
};

// "[text](url)" starting at `at` (a '[').
std::optional<Link> ParseLink(std::string_view s, std::size_t at) {
  const std::size_t close = s.find(']', at + 1);
  if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != '(') {
    return std::nullopt;
  }
  const std::size_t paren = s.find(')', close + 2);
  if (paren == std::string_view::npos) {
    return std::nullopt;
  }
  return Link{s.substr(at + 1, close - at - 1), s.substr(close + 2, paren - close - 2), paren + 1};
}

bool LinkableUrl(std::string_view url) {
  return StartsWith(url, "#") || StartsWith(url, "https://") || StartsWith(url, "http://");
}

// `code`, **bold** and [links](url); everything else escaped.
std::string RenderInline(std::string_view s, bool links = true) {
  std::string out;
  bool strong = false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '`') {
      if (const std::size_t end = s.find('`', i + 1); end != std::string_view::npos) {
        out += "<code>" + HtmlEscape(s.substr(i + 1, end - i - 1)) + "</code>";
        i = end + 1;
        continue;
      }
    } else if (StartsWith(s.substr(i), "**")) {
      out += strong ? "</strong>" : "<strong>";
      strong = !strong;
      i += 2;
      continue;
    } else if (s[i] == '[' && links) {
      if (const auto link = ParseLink(s, i)) {
        const std::string text = RenderInline(link->text, false);
        out += LinkableUrl(link->url) ? "<a href=\"" + HtmlEscape(link->url) + "\">" + text + "</a>"
                                      : text;
        i = link->end;
        continue;
      }
    }
    out += HtmlEscape(s.substr(i, 1));
    ++i;
  }
  if (strong) {
    out += "</strong>";
  }
  return out;
}

// The cells of a pipe-table row; a '|' inside `code` is text.
std::vector<std::string_view> Cells(std::string_view row) {
  row = Trim(row);
  if (StartsWith(row, "|")) {
    row.remove_prefix(1);
  }
  if (!row.empty() && row.back() == '|') {
    row.remove_suffix(1);
  }
  std::vector<std::string_view> cells;
  bool code = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= row.size(); ++i) {
    if (i < row.size() && row[i] == '`') {
      code = !code;
    }
    if (i == row.size() || (row[i] == '|' && !code)) {
      cells.push_back(Trim(row.substr(start, i - start)));
      start = i + 1;
    }
  }
  return cells;
}

bool SeparatorRow(std::string_view row) {
  return row.find_first_not_of("|-: \t") == std::string_view::npos;
}

// The list marker's length ("- ", "* ", "12. "), 0 when the line is no list item.
std::size_t ListMarker(std::string_view line) {
  if (StartsWith(line, "- ") || StartsWith(line, "* ")) {
    return 2;
  }
  std::size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) {
    ++digits;
  }
  return digits > 0 && StartsWith(line.substr(digits), ". ") ? digits + 2 : 0;
}

class MarkdownRenderer {
 public:
  std::string Render(std::string_view markdown);

 private:
  std::size_t Fence(const std::vector<std::string_view>& lines, std::size_t i);
  std::size_t Table(const std::vector<std::string_view>& lines, std::size_t i);
  // A line outside fences and tables: blank, heading, list item, or paragraph text.
  void TextLine(std::string_view line);
  bool Heading(std::string_view line);
  void ListItem(std::string_view line, std::size_t marker);
  void FlushParagraph();
  void FlushList();
  void FlushBlocks() {
    FlushParagraph();
    FlushList();
  }

  std::string out_;
  std::string paragraph_;
  std::string list_tag_;  // "ul" or "ol" while a list is open.
  std::string item_;
  std::map<std::string, int> anchors_;
};

std::string MarkdownRenderer::Render(std::string_view markdown) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= markdown.size();) {
    const std::size_t end = std::min(markdown.find('\n', start), markdown.size());
    lines.push_back(markdown.substr(start, end - start));
    start = end + 1;
  }
  for (std::size_t i = 0; i < lines.size();) {
    const std::string_view line = lines[i];
    const std::string_view trimmed = Trim(line);
    if (StartsWith(trimmed, "```")) {
      i = Fence(lines, i);
    } else if (StartsWith(trimmed, "|")) {
      i = Table(lines, i);
    } else {
      TextLine(line);
      ++i;
    }
  }
  FlushBlocks();
  return std::move(out_);
}

void MarkdownRenderer::TextLine(std::string_view line) {
  const std::string_view trimmed = Trim(line);
  if (trimmed.empty()) {
    FlushBlocks();
  } else if (Heading(trimmed)) {
    return;
  } else if (const std::size_t marker = ListMarker(trimmed); marker > 0) {
    ListItem(trimmed, marker);
  } else if (!list_tag_.empty() && StartsWith(line, "  ")) {
    item_ += " " + std::string(trimmed);  // An indented line continues the item.
  } else {
    FlushList();
    paragraph_ += (paragraph_.empty() ? "" : "\n") + std::string(trimmed);
  }
}

std::size_t MarkdownRenderer::Fence(const std::vector<std::string_view>& lines, std::size_t i) {
  FlushBlocks();
  std::string code;
  std::size_t j = i + 1;
  for (; j < lines.size() && !StartsWith(Trim(lines[j]), "```"); ++j) {
    code += std::string(lines[j]) + "\n";
  }
  out_ += "<pre><code>" + HtmlEscape(code) + "</code></pre>\n";
  return j + 1;  // Past the closing fence (or the end).
}

std::size_t MarkdownRenderer::Table(const std::vector<std::string_view>& lines, std::size_t i) {
  FlushBlocks();
  out_ += "<table>\n";
  bool header = true;
  for (; i < lines.size() && StartsWith(Trim(lines[i]), "|"); ++i) {
    if (SeparatorRow(lines[i])) {
      continue;
    }
    const char* cell = header ? "th" : "td";
    out_ += "<tr>";
    for (std::string_view c : Cells(lines[i])) {
      out_ += std::string("<") + cell + ">" + RenderInline(c) + "</" + cell + ">";
    }
    out_ += "</tr>\n";
    header = false;
  }
  out_ += "</table>\n";
  return i;
}

bool MarkdownRenderer::Heading(std::string_view line) {
  std::size_t level = 0;
  while (level < line.size() && line[level] == '#') {
    ++level;
  }
  if (level == 0 || level > 6 || level >= line.size() || line[level] != ' ') {
    return false;
  }
  FlushBlocks();
  const std::string_view text = Trim(line.substr(level + 1));
  std::string id = HeadingAnchor(text);
  if (const int seen = anchors_[id]++; seen > 0) {
    id += "-" + std::to_string(seen);
  }
  const std::string tag = "h" + std::to_string(level);
  out_ += "<" + tag + " id=\"" + HtmlEscape(id) + "\">" + RenderInline(text) + "</" + tag + ">\n";
  return true;
}

void MarkdownRenderer::ListItem(std::string_view line, std::size_t marker) {
  FlushParagraph();
  const std::string tag = std::isdigit(static_cast<unsigned char>(line[0])) ? "ol" : "ul";
  if (list_tag_ != tag) {
    FlushList();
    list_tag_ = tag;
    out_ += "<" + tag + ">\n";
  } else {
    out_ += "<li>" + RenderInline(item_) + "</li>\n";
  }
  item_ = std::string(line.substr(marker));
}

void MarkdownRenderer::FlushParagraph() {
  if (!paragraph_.empty()) {
    out_ += "<p>" + RenderInline(paragraph_) + "</p>\n";
    paragraph_.clear();
  }
}

void MarkdownRenderer::FlushList() {
  if (!list_tag_.empty()) {
    out_ += "<li>" + RenderInline(item_) + "</li>\n</" + list_tag_ + ">\n";
    list_tag_.clear();
    item_.clear();
  }
}

}  // namespace

std::string HeadingAnchor(std::string_view heading) {
  std::string id;
  for (char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ') {
      id += '-';
    } else if (std::isalnum(u) || c == '-' || c == '_' || u >= 0x80) {
      id += static_cast<char>(std::tolower(u));
    }
  }
  return id;
}

std::string MarkdownToHtml(std::string_view markdown) {
  return MarkdownRenderer().Render(markdown);
}

const std::string& RunbookPage() {
  static const std::string kPage =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>calico-bgp-exporter runbook</title><style>"
      "body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
      "pre{background:#f4f4f4;padding:.6em;overflow-x:auto}</style></head><body>\n"
      "<p><a href=\"/\">calico-bgp-exporter</a> " +
      HtmlEscape(kVersion) + " (" + HtmlEscape(kRevision) +
      "): the runbook of this version (docs/runbook.md).</p>\n" + MarkdownToHtml(kRunbookMarkdown) +
      "</body></html>\n";
  return kPage;
}

}  // namespace cbe
