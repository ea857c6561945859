#include "probes/net/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace cbe::net {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  const std::string s(text);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    return FromV4(a4);
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    return FromV6(a6);
  }
  return std::nullopt;
}

IpAddress IpAddress::FromV4(const in_addr& a) {
  IpAddress ip;
  ip.family_ = AF_INET;
  std::memcpy(ip.bytes_.data(), &a, 4);
  return ip;
}

IpAddress IpAddress::FromV6(const in6_addr& a) {
  IpAddress ip;
  ip.family_ = AF_INET6;
  std::memcpy(ip.bytes_.data(), &a, 16);
  return ip;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return FromV4(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    return FromV6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!valid() || inet_ntop(family_, bytes_.data(), buf, sizeof(buf)) == nullptr) {
    return "";
  }
  return buf;
}

socklen_t IpAddress::ToSockaddr(std::uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, bytes_.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, bytes_.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<std::pair<IpAddress, std::uint16_t>> ParseHostPort(std::string_view text,
                                                                 std::uint16_t default_port) {
  const auto port_of = [](std::string_view p) -> std::optional<std::uint16_t> {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty() || v == 0 || v > 65535) {
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(v);
  };
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    auto ip = IpAddress::Parse(text.substr(1, close - 1));
    if (!ip || !ip->is_v6()) {
      return std::nullopt;
    }
    if (close + 1 == text.size()) {
      return std::pair{*ip, default_port};
    }
    if (text[close + 1] != ':') {
      return std::nullopt;
    }
    auto port = port_of(text.substr(close + 2));
    if (!port) {
      return std::nullopt;
    }
    return std::pair{*ip, *port};
  }
  if (auto ip = IpAddress::Parse(text)) {
    return std::pair{*ip, default_port};
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  auto ip = IpAddress::Parse(text.substr(0, colon));
  auto port = port_of(text.substr(colon + 1));
  if (!ip || !ip->is_v4() || !port) {
    return std::nullopt;
  }
  return std::pair{*ip, *port};
}

}  // namespace cbe::net
