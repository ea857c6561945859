#pragma once

// Route lookups over rtnetlink (libmnl): which interface carries the route to an address.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "exporter/base/result.h"
#include "probes/net/address.h"

namespace cbe::net {

struct Route {
  int ifindex = 0;
  std::string interface;
  int interface_mtu = 0;
  int route_mtu = 0;  // The route's own `mtu` metric, 0 when none.
};

// The route to an address, or why there is none.
struct RouteLookup {
  std::optional<Route> route;
  std::string no_route;  // "no route to 10.0.0.1: Network is unreachable"
};

// Like `ip route get ADDRESS`: no packet is sent. An Error when the lookup itself failed
// (netlink, the interface's name); a lookup without `route` when the kernel has none.
Result<RouteLookup> LookupRoute(const IpAddress& destination);

// The MTU of a network interface by name (SIOCGIFMTU); nullopt when there is no such interface.
std::optional<int> InterfaceMtu(const std::string& name);

// The interface of this network namespace that holds a local address.
struct LocalInterface {
  std::string name;  // "eth0", "docker0", "lo".
  std::string kind;  // rtnetlink's IFLA_INFO_KIND: "bridge", "veth", "vxlan", ...; "" for a NIC.
  bool loopback = false;
};

// Which interface holds each of `addresses`, in their order: nullopt where no interface of this
// namespace has it, an Error where it could not be told. One getifaddrs for them all, and one
// rtnetlink request per interface found (its kind): a node whose sessions have a source address
// each costs one walk of the interfaces, not one per session.
std::vector<Result<std::optional<LocalInterface>>> InterfacesHolding(
    std::span<const IpAddress> addresses);

}  // namespace cbe::net
