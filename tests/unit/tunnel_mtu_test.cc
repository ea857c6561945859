// CheckTunnels: Calico's tunnel devices against the underlay MTU, with the interface MTUs
// injected (no netlink).

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "probes/mtu_probe.h"

namespace cbe::probes {
namespace {

// An interface table: the devices that exist and their MTUs.
auto Interfaces(std::map<std::string, int> mtus) {
  return [mtus = std::move(mtus)](const std::string& name) -> std::optional<int> {
    const auto it = mtus.find(name);
    return it == mtus.end() ? std::nullopt : std::optional<int>(it->second);
  };
}

const TunnelResult* Find(const std::vector<TunnelResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.interface == name) {
      return &r;
    }
  }
  return nullptr;
}

TEST_CASE("tunnels: only the devices that exist, each against its family's underlay", "[unit]") {
  const auto results = CheckTunnels(1500, 1400,
                                    Interfaces({{"tunl0", 1480},
                                                {"vxlan.calico", 1460},
                                                {"vxlan-v6.calico", 1330},
                                                {"wireguard.cali", 1440},
                                                {"wg-v6.cali", 1400},
                                                {"eth0", 1500}}));
  REQUIRE(results.size() == 5);
  CHECK(Find(results, "eth0") == nullptr);
  const TunnelResult* ipip = Find(results, "tunl0");
  REQUIRE(ipip != nullptr);
  CHECK(ipip->kind == "ipip");
  CHECK(ipip->mtu == 1480);
  CHECK(ipip->underlay_mtu == 1500);
  CHECK(ipip->fits == true);  // 1480 + 20 = 1500: exactly fits.
  const TunnelResult* vxlan = Find(results, "vxlan.calico");
  CHECK(vxlan->fits == false);  // 1460 + 50 > 1500.
  const TunnelResult* vxlan6 = Find(results, "vxlan-v6.calico");
  CHECK(vxlan6->underlay_mtu == 1400);                   // The IPv6 underlay.
  CHECK(vxlan6->fits == true);                           // 1330 + 70 = 1400.
  CHECK(Find(results, "wireguard.cali")->fits == true);  // 1440 + 60 = 1500.
  CHECK(Find(results, "wg-v6.cali")->fits == false);     // 1400 + 80 > 1400.
}

TEST_CASE("tunnels: no underlay known, fit unknown", "[unit]") {
  const auto results =
      CheckTunnels(std::nullopt, 1500, Interfaces({{"tunl0", 1480}, {"wg-v6.cali", 1420}}));
  REQUIRE(results.size() == 2);
  CHECK_FALSE(Find(results, "tunl0")->underlay_mtu.has_value());
  CHECK_FALSE(Find(results, "tunl0")->fits.has_value());
  CHECK(Find(results, "wg-v6.cali")->fits == true);  // 1420 + 80 = 1500.
  CHECK(CheckTunnels(1500, 1500, Interfaces({})).empty());
}

}  // namespace
}  // namespace cbe::probes
