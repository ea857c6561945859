// The clock probe: the kernel clock (adjtimex), NTP servers, chronyd and the peers' clocks.

#include <string>

#include "exporter/metrics/families.h"

namespace cbe::metrics {
namespace {

// The families of this area, in exposition order.
struct ClockFamilies {
  Family& synchronized;
  Family& estimated_error;
  Family& max_error;
  Family& offset;
  Family& ntp_up;
  Family& ntp_offset;
  Family& ntp_rtt;
  Family& ntp_stratum;
  Family& chrony_up;
  Family& chrony_offset;
  Family& chrony_stratum;
  Family& chrony_root_delay;
  Family& chrony_root_dispersion;
  Family& chrony_info;
  Family& peer_offset;
};

// A list of family declarations: split, it would only be harder to read.
ClockFamilies DeclareClockFamilies(Families& f) {
  // Braced initialisation runs left to right: the families are added in this order.
  return ClockFamilies{
      f.Add("calico_bgp_clock_synchronized",
            "1 if the kernel clock is synchronised (adjtimex: STA_UNSYNC clear and maximum "
            "error below 16 s, as ntpstat decides)."),
      f.Add("calico_bgp_clock_estimated_error_seconds",
            "The kernel clock's estimated error (adjtimex)."),
      f.Add("calico_bgp_clock_max_error_seconds", "The kernel clock's maximum error (adjtimex)."),
      f.Add("calico_bgp_clock_offset_seconds",
            "Offset the kernel still corrects: reference minus this clock (adjtimex)."),
      f.Add("calico_bgp_ntp_up", "1 if the NTP server answered and passed every check."),
      f.Add("calico_bgp_ntp_offset_seconds", "The NTP server's clock minus this node's clock."),
      f.Add("calico_bgp_ntp_rtt_seconds", "Round-trip delay to the NTP server."),
      f.Add("calico_bgp_ntp_stratum", "Stratum the NTP server reports."),
      f.Add("calico_bgp_chrony_up", "1 if chronyd's command port answered a tracking request."),
      f.Add("calico_bgp_chrony_offset_seconds",
            "chronyd's reference clock minus this node's clock (its system time correction)."),
      f.Add("calico_bgp_chrony_stratum", "chronyd's stratum."),
      f.Add("calico_bgp_chrony_root_delay_seconds", "chronyd's root delay."),
      f.Add("calico_bgp_chrony_root_dispersion_seconds", "chronyd's root dispersion."),
      f.Add("calico_bgp_chrony_tracking_info", "chronyd's reference and leap status; always 1."),
      f.Add("calico_bgp_peer_clock_offset_seconds",
            "The peer's clock minus this node's clock, from ICMP timestamps."),
  };
}

void AddKernel(const probes::KernelClock& kernel, ClockFamilies& f) {
  f.synchronized.Add({}, kernel.synchronized ? 1 : 0);
  f.estimated_error.Add({}, kernel.estimated_error_seconds);
  f.max_error.Add({}, kernel.max_error_seconds);
  f.offset.Add({}, kernel.offset_seconds);
}

void AddNtpServer(const probes::NtpServerResult& n, ClockFamilies& f) {
  const Labels server = {{"server", n.server}};
  f.ntp_up.Add(server, n.up ? 1 : 0);
  if (n.offset_seconds) {
    f.ntp_offset.Add(server, *n.offset_seconds);
  }
  if (n.rtt_seconds) {
    f.ntp_rtt.Add(server, *n.rtt_seconds);
  }
  if (n.stratum) {
    f.ntp_stratum.Add(server, *n.stratum);
  }
}

void AddChrony(const probes::ClockRoundResult& r, ClockFamilies& f) {
  f.chrony_up.Add({}, r.chrony ? 1 : 0);
  if (!r.chrony) {
    return;
  }
  const auto& c = *r.chrony;
  f.chrony_offset.Add({}, c.offset_seconds);
  f.chrony_stratum.Add({}, c.stratum);
  f.chrony_root_delay.Add({}, c.root_delay_seconds);
  f.chrony_root_dispersion.Add({}, c.root_dispersion_seconds);
  f.chrony_info.Add(
      {{"reference", c.reference_address.empty() ? c.reference_id_hex : c.reference_address},
       {"leap", std::string(probes::ChronyLeapName(c.leap_status))}},
      1);
}

}  // namespace

void AddClockFamilies(const ClockSnapshot* clock, const SessionView& view,
                      const ProbeRunFamilies& runs, Families& families) {
  ClockFamilies f = DeclareClockFamilies(families);
  if (clock == nullptr) {
    return;
  }
  const probes::ClockRoundResult& r = clock->result;
  if (r.kernel) {
    AddKernel(*r.kernel, f);
  }
  for (const auto& n : r.ntp) {
    AddNtpServer(n, f);
  }
  if (r.chrony_enabled) {
    AddChrony(r, f);
  }
  for (const auto& p : r.peers) {
    if (const std::string address = p.peer.ToString(); p.offset_seconds && view.ShowPeer(address)) {
      f.peer_offset.Add({{"peer", address}}, *p.offset_seconds);
    }
  }
  runs.Add(clock->run);
}

}  // namespace cbe::metrics
