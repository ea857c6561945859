#include "probes/bird/last_error.h"

#include <catch2/catch.hpp>

namespace cbe::bird {
namespace {

TEST_CASE("last error: every class BIRD prints, and the messages that name a cause", "[unit]") {
  struct Case {
    const char* text;
    ErrorClass error_class;
    ErrorKind kind;
    const char* class_text;
    const char* message;
  };
  const Case cases[] = {
      {"BGP Error: Bad peer AS", ErrorClass::kBgpError, ErrorKind::kBadPeerAs, "BGP Error",
       "Bad peer AS"},
      {"Received: Bad BGP identifier", ErrorClass::kReceived, ErrorKind::kBadBgpIdentifier,
       "Received", "Bad BGP identifier"},
      {"BGP Error: Hold timer expired", ErrorClass::kBgpError, ErrorKind::kHoldTimerExpired,
       "BGP Error", "Hold timer expired"},
      {"Socket: Connection refused", ErrorClass::kSocket, ErrorKind::kConnectionRefused, "Socket",
       "Connection refused"},
      {"Socket: No route to host", ErrorClass::kSocket, ErrorKind::kNoRouteToHost, "Socket",
       "No route to host"},
      {"Socket: Network is unreachable", ErrorClass::kSocket, ErrorKind::kNetworkUnreachable,
       "Socket", "Network is unreachable"},
      {"Socket: Connection timed out", ErrorClass::kSocket, ErrorKind::kConnectionTimedOut,
       "Socket", "Connection timed out"},
      {"Socket: Connection reset by peer", ErrorClass::kSocket, ErrorKind::kOther, "Socket",
       "Connection reset by peer"},
      {"Error: No listening socket", ErrorClass::kError, ErrorKind::kNoListeningSocket, "Error",
       "No listening socket"},
      {"Automatic shutdown: Route limit exceeded", ErrorClass::kAutomaticShutdown,
       ErrorKind::kOther, "Automatic shutdown", "Route limit exceeded"},
      // No class BIRD is known to print: kept whole, labelled "Error" as before.
      {"Something odd", ErrorClass::kUnclassified, ErrorKind::kOther, "Error", "Something odd"},
      {"Odd class: Bad peer AS", ErrorClass::kUnclassified, ErrorKind::kBadPeerAs, "Odd class",
       "Bad peer AS"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const LastError e = ClassifyLastError(c.text);
    CHECK(e.error_class == c.error_class);
    CHECK(e.kind == c.kind);
    CHECK(e.class_text == c.class_text);
    CHECK(e.message == c.message);
    CHECK_FALSE(e.empty());
  }
}

TEST_CASE("last error: none, blanks, and the text BIRD printed", "[unit]") {
  CHECK(ClassifyLastError("").empty());
  CHECK(ClassifyLastError("  \t").empty());
  CHECK(ClassifyLastError("").kind == ErrorKind::kNone);
  CHECK(ClassifyLastError("").Text().empty());
  CHECK(ClassifyLastError("BGP Error: Bad peer AS").Text() == "BGP Error: Bad peer AS");
  CHECK(ClassifyLastError("  Socket:   Connection refused ").Text() ==
        "Socket: Connection refused");
}

TEST_CASE("last error: the short text is the text, short or long", "[unit]") {
  const std::string long_message(200, 'x');  // Past ShortText()'s buffer: the long way.
  for (const std::string& text :
       {std::string(), std::string("Socket: x"), std::string("Socket: Connection refused"),
        std::string("Automatic shutdown: Route limit exceeded"), "BGP Error: " + long_message,
        "Unclassified text " + long_message}) {
    CAPTURE(text);
    const LastError e = ClassifyLastError(text);
    CHECK(e.ShortText() == e.Text());
  }
}

TEST_CASE("last error: only NOTIFICATIONs are BGP-level", "[unit]") {
  CHECK(ClassifyLastError("BGP Error: Bad peer AS").bgp_level());
  CHECK(ClassifyLastError("Received: Hold timer expired").bgp_level());
  CHECK_FALSE(ClassifyLastError("Socket: Connection refused").bgp_level());
  CHECK_FALSE(ClassifyLastError("Error: No listening socket").bgp_level());
  CHECK_FALSE(ClassifyLastError("").bgp_level());
}

}  // namespace
}  // namespace cbe::bird
