#pragma once

// Route lookups over rtnetlink (libmnl): which interface carries the route to an address.

#include <string>

#include "exporter/base/result.h"
#include "probes/net/address.h"

namespace cbe::net {

struct Route {
  int ifindex = 0;
  std::string interface;
  int interface_mtu = 0;
  int route_mtu = 0;  // The route's own `mtu` metric, 0 when none.
};

// Like `ip route get ADDRESS`: no packet is sent.
Result<Route> LookupRoute(const IpAddress& destination);

// The MTU of a network interface by name (SIOCGIFMTU); nullopt when there is no such interface.
std::optional<int> InterfaceMtu(const std::string& name);

}  // namespace cbe::net
