#pragma once

// --web.listen-address, the one parser of it: Prometheus' "[host]:port" spelling, host an IP
// address (civetweb binds addresses, not names) or empty for every address.

#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/base/result.h"

namespace cbe {

struct ListenAddress {
  std::string host;        // "" (every address, IPv4 and IPv6), "127.0.0.1", "::1" (no brackets).
  std::uint16_t port = 0;  // 0: the kernel picks one.

  // civetweb's "listening_ports" spelling: "+10179" (every address, IPv4 and IPv6),
  // "127.0.0.1:10179", "[::1]:10179". Append "s" for TLS.
  std::string CivetwebPorts() const;
  // Prometheus' spelling again: ":10179", "127.0.0.1:10179", "[::1]:10179".
  std::string ToString() const;

  bool operator==(const ListenAddress&) const = default;
};

// ":10179", "127.0.0.1:10179", "[::1]:10179". The error says what was expected and got.
Result<ListenAddress> ParseListenAddress(std::string_view address);

}  // namespace cbe
