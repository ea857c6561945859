// The table of probers: a new probe kind is its file pair in probes/ and one row here.

#include "probes/clock/clock_probe.h"
#include "probes/icmp_probe.h"
#include "probes/listener_probe.h"
#include "probes/mtu_probe.h"
#include "probes/probe.h"
#include "probes/tcp_syn_probe.h"

namespace cbe::probes {

std::span<const Prober* const> Probers() {
  // One row per line, whatever the formatter would join: a new prober adds exactly one.
  // clang-format off
  static const Prober* const kProbers[] = {
      &TcpProber(),
      &IcmpProber(),
      &MtuProber(),
      &ListenerProber(),
      &ClockProber(),
  };
  // clang-format on
  return kProbers;
}

std::size_t ProberIndex(std::string_view name) {
  const auto probers = Probers();
  for (std::size_t i = 0; i < probers.size(); ++i) {
    if (probers[i]->Name() == name) {
      return i;
    }
  }
  return probers.size();
}

std::vector<net::IpAddress> Addresses(const std::vector<ProbeTarget>& targets) {
  std::vector<net::IpAddress> ips;
  ips.reserve(targets.size());
  for (const ProbeTarget& t : targets) {
    ips.push_back(t.ip);
  }
  return ips;
}

}  // namespace cbe::probes
