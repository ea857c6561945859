#pragma once

// TCP port probes that never disturb a BGP session.
//
// A full connect() to a peer's port 179 from the node's address tears down an Established session
// when graceful restart is on: the peer takes the new connection for a restarted neighbour.
// The half-open probe sends a SYN from a raw socket and waits: SYN-ACK means open (this node's
// kernel answers it with RST, so no BIRD ever sees a connection), RST means closed, ICMP
// port-unreachable or administratively-prohibited means filtered (what iptables REJECT sends),
// ICMP net or host unreachable means unreachable, silence until the timeout means filtered.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/net/packet.h"
#include "probes/peer_result.h"
#include "probes/probe.h"

namespace cbe::probes {

// `probes.tcp` of the config file.
struct TcpSettings : ProbeSettings {
  static constexpr std::string_view kProbe = "tcp";
  bool connect_mode = false;  // `mode: connect`: risky, only for peers not Established.
  std::uint16_t port = 179;   // Calico's listenPort.
  std::chrono::milliseconds timeout{2000};
};

// The TCP prober's part of the snapshot.
struct TcpSnapshot : ProbeResult {
  static constexpr std::string_view kProbe = "tcp";
  std::vector<PortResult> ports;
};

// The row of the probe table: half-open (or connect) probes of every peer's BGP port, the
// calico_bgp_peer_port_* series.
const Prober& TcpProber();

struct TcpProbeOptions {
  enum class Mode { kSyn, kConnect };
  Mode mode = Mode::kSyn;
  std::uint16_t port = 179;
  std::chrono::milliseconds timeout{2000};
  int packets_per_second = 5000;  // Rate limit of the SYNs of one round.
};

// The bookkeeping of one half-open round, without IO: which SYN went where and which answer
// belongs to which probe. Unit-tested with packets built by hand.
class SynRound {
 public:
  SynRound(std::vector<net::IpAddress> peers, std::uint16_t remote_port);

  std::size_t size() const { return probes_.size(); }
  const net::IpAddress& peer(std::size_t i) const { return probes_[i].result.peer; }

  void Sent(std::size_t i, std::uint16_t local_port, std::uint32_t seq,
            std::chrono::steady_clock::time_point at);
  void Failed(std::size_t i, PortState state, std::string reason);
  // A TCP segment from `from`. Returns true when it answered one of our SYNs.
  bool OnTcp(const net::IpAddress& from, const net::TcpSegment& segment,
             std::chrono::steady_clock::time_point at);
  bool OnIcmpError(const net::IcmpError& error, std::chrono::steady_clock::time_point at);

  bool AllAnswered() const { return outstanding_ == 0; }
  // Probes still waiting at `now` after `timeout` become filtered ("no answer"). Call once: the
  // results are moved out.
  std::vector<PortResult> Finish(std::chrono::milliseconds timeout);

 private:
  struct Probe {
    PortResult result;
    bool sent = false;
    bool done = false;
    std::uint16_t local_port = 0;
    std::uint32_t seq = 0;
    std::chrono::steady_clock::time_point sent_at;
  };
  Probe* Find(const net::IpAddress& peer, std::uint16_t local_port);
  void Answer(Probe* p, PortState state, std::string reason,
              std::chrono::steady_clock::time_point at);

  std::vector<Probe> probes_;
  std::uint16_t remote_port_;
  std::size_t outstanding_ = 0;
};

// Each peer's port state from one round to the next, to log a state once when it changes.
// Updated in place: a new map each round would hold two of 1000 peers' at its peak.
class PortStateMemory {
 public:
  // The results of a round whose peer is new or whose state changed since the last round; the
  // peers this round did not probe are forgotten (back later, they are new again).
  std::vector<const PortResult*> Update(const std::vector<PortResult>& ports);
  std::size_t size() const { return last_.size(); }

 private:
  struct Last {
    PortState state;
    std::uint64_t round;  // The last round that probed the peer.
  };
  std::map<net::IpAddress, Last> last_;
  std::uint64_t round_ = 0;
};

// Runs one round over `peers`, all concurrently in one event loop. Needs CAP_NET_RAW; without
// it every peer is kUnprobed with the reason.
std::vector<PortResult> RunSynProbe(const std::vector<net::IpAddress>& peers,
                                    const TcpProbeOptions& options, const Clock& clock);

// The risky fallback: a non-blocking connect(). Callers must pass only peers whose session is
// not Established.
std::vector<PortResult> RunConnectProbe(const std::vector<net::IpAddress>& peers,
                                        const TcpProbeOptions& options, const Clock& clock);

}  // namespace cbe::probes
