#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cbe {

// Prometheus' "--web.listen-address" spelling to civetweb's "listening_ports":
//   ":10179" -> "+10179" (IPv4 and IPv6), "127.0.0.1:10179" -> "127.0.0.1:10179",
//   "[::1]:10179" -> "[::1]:10179". Returns nullopt for a malformed address.
std::optional<std::string> CivetwebListeningPort(std::string_view address);

}  // namespace cbe
