#pragma once

// BIRD's "Last error" of a BGP protocol, classified once, here: code outside probes/bird reads
// the enums, never BIRD's text. BIRD prints "<class>: <message>" (bgp.c: bgp_err_classes),
// e.g. "BGP Error: Bad peer AS", "Received: Bad BGP identifier", "Socket: Connection refused",
// "Error: No listening socket", "Automatic shutdown: Route limit exceeded".

#include <string>
#include <string_view>

#include "exporter/base/short_string.h"

namespace cbe::bird {

enum class ErrorClass {
  kNone,               // No last error.
  kBgpError,           // "BGP Error": this side sent a NOTIFICATION.
  kReceived,           // "Received": the peer sent one.
  kSocket,             // "Socket": the TCP connection failed (strerror text).
  kError,              // "Error": BIRD's miscellaneous errors (no listening socket, ...).
  kAutomaticShutdown,  // "Automatic shutdown": a route limit.
  kUnclassified,       // No "<class>: " prefix BIRD is known to print.
};

// The messages the diagnosis tells apart. Everything else is kOther.
enum class ErrorKind {
  kNone,
  kBadPeerAs,
  kBadBgpIdentifier,
  kHoldTimerExpired,
  kConnectionRefused,
  kNoRouteToHost,
  kNetworkUnreachable,
  kConnectionTimedOut,
  kNoListeningSocket,
  kOther,
};

struct LastError {
  ErrorClass error_class = ErrorClass::kNone;
  ErrorKind kind = ErrorKind::kNone;
  // As BIRD printed them: the class ("BGP Error"; "Error" when BIRD printed none) and the
  // message ("Bad peer AS"). Exported as labels of calico_bgp_peer_last_error_info. In 16
  // bytes each: a round's snapshot holds two of these per session.
  ShortString class_text;
  ShortString message;

  bool empty() const { return error_class == ErrorClass::kNone; }
  // A NOTIFICATION, sent or received: it outlives the socket errors of BIRD's retries.
  bool bgp_level() const {
    return error_class == ErrorClass::kBgpError || error_class == ErrorClass::kReceived;
  }
  // "BGP Error: Bad peer AS"; "" when empty.
  std::string Text() const;
  // The same text as a ShortString, without a std::string between (the diagnosis writes it
  // for every session with an error, every derivation).
  ShortString ShortText() const;
};

// `text` as it stands after "Last error:" in `show protocols all` ("" for none).
LastError ClassifyLastError(std::string_view text);

}  // namespace cbe::bird
