#include "exporter/config/listen_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <limits>
#include <optional>

namespace cbe {
namespace {

std::optional<std::uint16_t> ParsePort(std::string_view port) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() ||
      value > std::numeric_limits<std::uint16_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// The host of "[host]:port" without brackets; nullopt unless it is empty or an IP address.
std::optional<std::string> ParseHost(std::string_view host) {
  if (host.empty()) {
    return std::string();
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return std::nullopt;
    }
    std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) {
      return std::nullopt;
    }
    return inner;
  }
  std::string v4(host);
  in_addr a4{};
  if (inet_pton(AF_INET, v4.c_str(), &a4) != 1) {
    return std::nullopt;
  }
  return v4;
}

bool IsIpv6(const std::string& host) { return host.find(':') != std::string::npos; }

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view address) {
  const Error error{"expected [host]:port with an IP address as host, got \"" +
                    std::string(address) + "\""};
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return error;
  }
  const auto host = ParseHost(address.substr(0, colon));
  const auto port = ParsePort(address.substr(colon + 1));
  if (!host || !port) {
    return error;
  }
  return ListenAddress{*host, *port};
}

std::string ListenAddress::CivetwebPorts() const {
  if (host.empty()) {
    return "+" + std::to_string(port);
  }
  return ToString();
}

std::string ListenAddress::ToString() const {
  const std::string bracketed = IsIpv6(host) ? "[" + host + "]" : host;
  return bracketed + ":" + std::to_string(port);
}

}  // namespace cbe
