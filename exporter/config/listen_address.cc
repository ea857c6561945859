#include "exporter/config/listen_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace cbe {
namespace {

bool ValidPort(std::string_view port) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && ptr == port.data() + port.size() && value <= 65535 && !port.empty();
}

}  // namespace

std::optional<std::string> CivetwebListeningPort(std::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (!ValidPort(port)) {
    return std::nullopt;
  }
  if (host.empty()) {
    return "+" + std::string(port);
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return std::nullopt;
    }
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) {
      return std::nullopt;
    }
    return std::string(address);
  }
  in_addr a4{};
  if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
    return std::nullopt;  // civetweb binds addresses, not names.
  }
  return std::string(address);
}

}  // namespace cbe
