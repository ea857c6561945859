#include "probes/bird/framing.h"

#include <string>

namespace cbe::bird {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Printable(std::string_view line) {
  constexpr std::size_t kMaxShown = 60;
  std::string out;
  for (char c : line.substr(0, kMaxShown)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (line.size() > kMaxShown) {
    out += "...";
  }
  return out;
}

}  // namespace

bool ClassifyCodedLine(std::string_view raw, ReplyLine* line, std::string* error) {
  if (!raw.empty() && raw[0] == ' ') {  // ClassifyReplyLine took those after a coded line.
    *error = "continuation line before any coded line: \"" + Printable(raw) + "\"";
    return false;
  }
  if (raw.size() >= 4 && IsDigit(raw[0]) && IsDigit(raw[1]) && IsDigit(raw[2]) && IsDigit(raw[3])) {
    line->code =
        (raw[0] - '0') * 1000 + (raw[1] - '0') * 100 + (raw[2] - '0') * 10 + (raw[3] - '0');
    if (raw.size() == 4) {  // "DDDD" alone: treat as a last line with no text.
      line->kind = LineKind::kLast;
      line->text = {};
      return true;
    }
    if (raw[4] == '-') {
      line->kind = LineKind::kMore;
    } else if (raw[4] == ' ') {
      line->kind = LineKind::kLast;
    } else {
      *error = "bad separator after reply code: \"" + Printable(raw) + "\"";
      return false;
    }
    line->text = raw.substr(5);
    return true;
  }
  *error = "line is neither coded nor a continuation: \"" + Printable(raw) + "\"";
  return false;
}

std::string FinalLineText(std::string_view reply) {
  std::string text;
  (void)ForEachReplyLine(reply, [&](const ReplyLine& line) { text = line.text; });
  return text;
}

}  // namespace cbe::bird
