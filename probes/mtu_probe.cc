#include "probes/mtu_probe.h"

#include "probes/net/route.h"

namespace cbe::probes {

std::vector<MtuResult> RunMtuProbe(const std::vector<net::IpAddress>& peers,
                                   const MtuProbeOptions& options, const Clock& clock) {
  std::vector<MtuResult> out(peers.size());
  std::vector<net::IpAddress> searchable;
  std::vector<int> mtus;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
    auto route = net::LookupRoute(peers[i]);
    if (!route) {
      out[i].reason = route.error().message;
      continue;
    }
    out[i].interface = route->interface;
    if (route->interface_mtu > 0) {
      out[i].interface_mtu = route->interface_mtu;
      searchable.push_back(peers[i]);
      mtus.push_back(route->interface_mtu);
      index.push_back(i);
    }
  }
  std::vector<std::string> reasons;
  const auto found =
      SearchPathMtu(searchable, mtus,
                    PathMtuOptions{options.timeout, options.max_steps, options.packets_per_second},
                    clock, &reasons);
  for (std::size_t k = 0; k < index.size(); ++k) {
    out[index[k]].path_mtu = found[k];
    out[index[k]].reason = reasons[k];
  }
  return out;
}

const std::vector<TunnelDevice>& CalicoTunnels() {
  static const std::vector<TunnelDevice> kTunnels = {
      {"tunl0", "ipip", 20, false},
      {"vxlan.calico", "vxlan", 50, false},
      {"vxlan-v6.calico", "vxlan-v6", 70, true},
      {"wireguard.cali", "wireguard", 60, false},
      {"wg-v6.cali", "wireguard-v6", 80, true},
  };
  return kTunnels;
}

std::vector<TunnelResult> CheckTunnels(
    std::optional<int> underlay_v4, std::optional<int> underlay_v6,
    const std::function<std::optional<int>(const std::string&)>& mtu_of) {
  std::vector<TunnelResult> out;
  for (const TunnelDevice& t : CalicoTunnels()) {
    const auto mtu = mtu_of(t.interface);
    if (!mtu) {
      continue;
    }
    TunnelResult r;
    r.interface = t.interface;
    r.kind = t.kind;
    r.mtu = *mtu;
    r.underlay_mtu = t.v6_underlay ? underlay_v6 : underlay_v4;
    if (r.underlay_mtu) {
      r.fits = r.mtu + t.overhead <= *r.underlay_mtu;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace cbe::probes
