#include "probes/icmp_probe.h"

#include <algorithm>
#include <optional>

#include "probes/net/echo_socket.h"

namespace cbe::probes {

using std::chrono::steady_clock;

// Bytes of each echo, IP header included: ping's default size.
constexpr std::size_t kEchoPacketSize = 64;

std::vector<IcmpResult> RunIcmpProbe(const std::vector<net::IpAddress>& peers,
                                     const IcmpProbeOptions& options, const Clock& clock) {
  std::vector<IcmpResult> out(peers.size());
  std::vector<double> rtt_sum(peers.size(), 0);
  // Each peer's deadline: its first echo plus the timeout (none yet: not sent).
  std::vector<std::optional<steady_clock::time_point>> deadline(peers.size());
  std::vector<int> unsent(peers.size(), 0);  // Echoes skipped: too late for the deadline.
  net::EchoLoop loop(clock, /*dont_fragment=*/false);
  const auto interval = net::PacketInterval(options.packets_per_second);
  auto next_send = clock.Monotonic();
  auto round_end = next_send;  // The latest deadline so far.
  std::size_t total = peers.size() * static_cast<std::size_t>(std::max(0, options.count));
  std::size_t k = 0;
  std::size_t outstanding = 0;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
  }
  const auto on_reply = [&](std::size_t i, std::uint16_t, double rtt,
                            const std::optional<net::IpAddress>& from) {
    if (from && *from != peers[i]) {
      return;  // A reply from someone else with our sequence number.
    }
    --outstanding;
    if (deadline[i] && clock.Monotonic() > *deadline[i]) {
      return;  // Past the peer's deadline: lost, as if it had come later still.
    }
    ++out[i].received;
    rtt_sum[i] += rtt;
  };
  while (true) {
    const auto now = clock.Monotonic();
    while (k < total && next_send <= now) {
      const std::size_t i = k % peers.size();  // Round robin: one echo per peer at a time.
      ++k;
      if (const net::EchoSocket& sock = loop.Socket(peers[i].family()); !sock.error.empty()) {
        out[i].reason = sock.error;  // Not probed at all: no socket.
        continue;
      }
      if (deadline[i] && now >= *deadline[i]) {
        ++unsent[i];  // Its answer could not count any more.
        continue;
      }
      out[i].probed = true;
      ++out[i].sent;
      if (!deadline[i]) {
        deadline[i] = clock.Monotonic() + options.timeout;
        round_end = std::max(round_end, *deadline[i]);
      }
      auto seq = loop.Send(peers[i], i, kEchoPacketSize);
      if (!seq) {
        out[i].reason = seq.error().message;  // E.g. no route: an echo lost for sure.
        continue;
      }
      ++outstanding;
      next_send += interval;
    }
    if (k >= total && (outstanding == 0 || now >= round_end)) {
      break;
    }
    loop.Receive(k >= total ? round_end : std::min(std::max(next_send, now), round_end), on_reply);
  }
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (out[i].received > 0) {
      out[i].rtt_seconds = rtt_sum[i] / out[i].received;
    }
    if (out[i].received < out[i].sent && out[i].reason.empty()) {
      out[i].reason = std::to_string(out[i].sent - out[i].received) + " of " +
                      std::to_string(out[i].sent) + " echoes unanswered";
    }
    if (unsent[i] > 0) {
      out[i].reason += std::string(out[i].reason.empty() ? "" : "; ") + std::to_string(unsent[i]) +
                       " echoes not sent: the round robin over all peers came back after the "
                       "timeout (raise probes.packets_per_second or probes.icmp.timeout)";
    }
  }
  return out;
}

}  // namespace cbe::probes
