#include "probes/bird/last_error.h"

#include <algorithm>
#include <array>
#include <utility>

namespace cbe::bird {
namespace {

constexpr std::string_view kSeparator = ": ";
constexpr std::string_view kClassless = "Error";

struct ClassName {
  std::string_view text;
  ErrorClass error_class;
};
constexpr std::array<ClassName, 5> kClasses = {{
    {"BGP Error", ErrorClass::kBgpError},
    {"Received", ErrorClass::kReceived},
    {"Socket", ErrorClass::kSocket},
    {"Error", ErrorClass::kError},
    {"Automatic shutdown", ErrorClass::kAutomaticShutdown},
}};

// BGP NOTIFICATION texts (bgp.c: bgp_error_dsc) and socket errors (strerror) that name a cause.
struct KnownMessage {
  std::string_view text;
  ErrorKind kind;
};
constexpr std::array<KnownMessage, 8> kMessages = {{
    {"Bad peer AS", ErrorKind::kBadPeerAs},
    {"Bad BGP identifier", ErrorKind::kBadBgpIdentifier},
    {"Hold timer expired", ErrorKind::kHoldTimerExpired},
    {"Connection refused", ErrorKind::kConnectionRefused},
    {"No route to host", ErrorKind::kNoRouteToHost},
    {"Network is unreachable", ErrorKind::kNetworkUnreachable},
    {"Connection timed out", ErrorKind::kConnectionTimedOut},
    {"No listening socket", ErrorKind::kNoListeningSocket},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

ErrorKind KindOf(std::string_view message) {
  for (const KnownMessage& m : kMessages) {
    if (message.find(m.text) != std::string_view::npos) {
      return m.kind;
    }
  }
  return ErrorKind::kOther;
}

}  // namespace

namespace {

// The text's size, and the text written into `out`, which has room for it: "" when empty.
std::size_t TextSize(const LastError& e) {
  return e.empty() ? 0 : e.class_text.size() + kSeparator.size() + e.message.size();
}
void WriteText(const LastError& e, char* out) {
  if (!e.empty()) {
    out = std::copy(e.class_text.view().begin(), e.class_text.view().end(), out);
    out = std::copy(kSeparator.begin(), kSeparator.end(), out);
    std::copy(e.message.view().begin(), e.message.view().end(), out);
  }
}

}  // namespace

std::string LastError::Text() const {
  std::string text(TextSize(*this), '\0');
  WriteText(*this, text.data());
  return text;
}

ShortString LastError::ShortText() const {
  char text[128];
  const std::size_t size = TextSize(*this);
  if (size > sizeof text) {
    return ShortString(Text());
  }
  WriteText(*this, text);
  return ShortString(std::string_view(text, size));
}

LastError ClassifyLastError(std::string_view text) {
  LastError e;
  text = Trim(text);
  if (text.empty()) {
    return e;
  }
  const std::size_t colon = text.find(kSeparator);
  std::string_view class_text = colon == std::string_view::npos ? "" : text.substr(0, colon);
  std::string_view message = colon == std::string_view::npos ? text : Trim(text.substr(colon + 2));
  e.error_class = ErrorClass::kUnclassified;
  for (const ClassName& c : kClasses) {
    if (class_text == c.text) {
      e.error_class = c.error_class;
    }
  }
  e.class_text = class_text.empty() ? kClassless : class_text;
  e.message = message;
  e.kind = KindOf(message);
  return e;
}

}  // namespace cbe::bird
