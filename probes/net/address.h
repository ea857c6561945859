#pragma once

// IPv4 and IPv6 addresses as the probes use them.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cbe::net {

class IpAddress {
 public:
  IpAddress() = default;
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress FromV4(const in_addr& a);
  static IpAddress FromV6(const in6_addr& a);
  static std::optional<IpAddress> FromSockaddr(const sockaddr* sa);

  bool is_v4() const { return family_ == AF_INET; }
  bool is_v6() const { return family_ == AF_INET6; }
  int family() const { return family_; }
  bool valid() const { return family_ != AF_UNSPEC; }
  const std::uint8_t* bytes() const { return bytes_.data(); }
  std::size_t size() const { return is_v4() ? 4 : 16; }
  std::string ToString() const;

  // A sockaddr for this address and `port` (host order). Returns its length.
  socklen_t ToSockaddr(std::uint16_t port, sockaddr_storage* out) const;

  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;

 private:
  int family_ = AF_UNSPEC;
  std::array<std::uint8_t, 16> bytes_{};
};

// Splits "10.0.0.53", "10.0.0.53:123", "[fd00::1]:123" or "fd00::1" into address and port
// (default_port when absent). Names are not resolved.
std::optional<std::pair<IpAddress, std::uint16_t>> ParseHostPort(std::string_view text,
                                                                 std::uint16_t default_port);

}  // namespace cbe::net
