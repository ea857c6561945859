#include "probes/net/route.h"

#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace cbe::net {
namespace {

struct RouteAttrs {
  int oif = 0;
  int mtu = 0;
};

int MetricsCallback(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == RTAX_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
    static_cast<RouteAttrs*>(data)->mtu = static_cast<int>(mnl_attr_get_u32(attr));
  }
  return MNL_CB_OK;
}

int AttrCallback(const nlattr* attr, void* data) {
  auto* out = static_cast<RouteAttrs*>(data);
  switch (mnl_attr_get_type(attr)) {
    case RTA_OIF:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
        out->oif = static_cast<int>(mnl_attr_get_u32(attr));
      }
      break;
    case RTA_METRICS:
      mnl_attr_parse_nested(attr, MetricsCallback, data);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

int RouteCallback(const nlmsghdr* nlh, void* data) {
  mnl_attr_parse(nlh, sizeof(rtmsg), AttrCallback, data);
  return MNL_CB_OK;
}

int LinkInfoCallback(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

int LinkAttrCallback(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_LINKINFO) {
    mnl_attr_parse_nested(attr, LinkInfoCallback, data);
  }
  return MNL_CB_OK;
}

int LinkCallback(const nlmsghdr* nlh, void* data) {
  mnl_attr_parse(nlh, sizeof(ifinfomsg), LinkAttrCallback, data);
  return MNL_CB_OK;
}

using NetlinkSocket = std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)>;

Result<NetlinkSocket> OpenNetlink() {
  NetlinkSocket nl(mnl_socket_open(NETLINK_ROUTE), &mnl_socket_close);
  if (!nl) {
    return Error{std::string("netlink socket: ") + std::strerror(errno)};
  }
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error{std::string("netlink bind: ") + std::strerror(errno)};
  }
  return nl;
}

// RTM_GETLINK of one interface: its IFLA_INFO_KIND ("" for a plain NIC).
Result<std::string> LinkKind(unsigned ifindex) {
  auto nl = OpenNetlink();
  if (!nl) {
    return nl.error();
  }
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  const unsigned seq = static_cast<unsigned>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = static_cast<int>(ifindex);
  if (mnl_socket_sendto(nl->get(), nlh, nlh->nlmsg_len) < 0) {
    return Error{std::string("netlink send: ") + std::strerror(errno)};
  }
  const ssize_t n = mnl_socket_recvfrom(nl->get(), buf.data(), buf.size());
  if (n < 0) {
    return Error{std::string("netlink receive: ") + std::strerror(errno)};
  }
  std::string kind;
  if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, mnl_socket_get_portid(nl->get()),
                 LinkCallback, &kind) < 0) {
    return Error{"interface " + std::to_string(ifindex) + ": " + std::strerror(errno)};
  }
  return kind;
}

}  // namespace

std::optional<int> InterfaceMtu(const std::string& name) {
  // An ioctl, not /sys/class/net: sysfs shows the network namespace of whoever mounted it.
  if (name.empty() || name.size() >= IF_NAMESIZE) {
    return std::nullopt;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  ifreq req{};
  std::memcpy(req.ifr_name, name.c_str(), name.size());
  const int rc = ::ioctl(fd, SIOCGIFMTU, &req);
  ::close(fd);
  if (rc != 0 || req.ifr_mtu <= 0) {
    return std::nullopt;
  }
  return req.ifr_mtu;
}

std::vector<Result<std::optional<LocalInterface>>> InterfacesHolding(
    std::span<const IpAddress> addresses) {
  using Found = Result<std::optional<LocalInterface>>;
  std::vector<Found> out;
  out.reserve(addresses.size());
  if (addresses.empty()) {
    return out;
  }
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    const Error error{std::string("getifaddrs: ") + std::strerror(errno)};
    out.assign(addresses.size(), Found(error));
    return out;
  }
  std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
  // The interface of each address held, read once per interface (a few per node).
  std::map<std::string, Found, std::less<>> interfaces;
  const auto interface_of = [&](const ifaddrs& a) -> const Found& {
    if (const auto it = interfaces.find(std::string_view(a.ifa_name)); it != interfaces.end()) {
      return it->second;
    }
    LocalInterface local;
    local.name = a.ifa_name;
    local.loopback = (a.ifa_flags & IFF_LOOPBACK) != 0;
    Found found = std::optional<LocalInterface>();
    if (const unsigned index = if_nametoindex(a.ifa_name); index == 0) {
      found = Error{"interface " + local.name + ": " + std::strerror(errno)};
    } else if (auto kind = LinkKind(index); !kind) {
      found = kind.error();
    } else {
      local.kind = std::move(*kind);
      found = std::optional<LocalInterface>(std::move(local));
    }
    return interfaces.emplace(a.ifa_name, std::move(found)).first->second;
  };
  for (const IpAddress& address : addresses) {
    Found found = std::optional<LocalInterface>();
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_name == nullptr) {
        continue;
      }
      if (const auto ip = IpAddress::FromSockaddr(a->ifa_addr); ip && *ip == address) {
        found = interface_of(*a);
        break;
      }
    }
    out.push_back(std::move(found));
  }
  return out;
}

Result<RouteLookup> LookupRoute(const IpAddress& destination) {
  auto opened = OpenNetlink();
  if (!opened) {
    return opened.error();
  }
  NetlinkSocket& nl = *opened;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  const unsigned seq = static_cast<unsigned>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<unsigned char>(destination.family());
  rtm->rtm_dst_len = static_cast<unsigned char>(destination.size() * 8);
  mnl_attr_put(nlh, RTA_DST, destination.size(), destination.bytes());
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
    return Error{std::string("netlink send: ") + std::strerror(errno)};
  }
  const unsigned portid = mnl_socket_get_portid(nl.get());
  RouteAttrs attrs;
  const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
  if (n < 0) {
    return Error{std::string("netlink receive: ") + std::strerror(errno)};
  }
  if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, RouteCallback, &attrs) < 0) {
    return RouteLookup{std::nullopt,
                       "no route to " + destination.ToString() + ": " + std::strerror(errno)};
  }
  if (attrs.oif == 0) {
    return RouteLookup{std::nullopt, "no route to " + destination.ToString()};
  }
  Route r;
  r.ifindex = attrs.oif;
  r.route_mtu = attrs.mtu;
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(attrs.oif), name) == nullptr) {
    return Error{"interface " + std::to_string(attrs.oif) + ": " + std::strerror(errno)};
  }
  r.interface = name;
  r.interface_mtu = InterfaceMtu(r.interface).value_or(0);
  return RouteLookup{std::move(r), ""};
}

}  // namespace cbe::net
