#pragma once

// ICMP echo sockets and the loop that sends echoes and matches their replies: what the echo
// probe (round trip, loss) and the path MTU search share. A ping socket where
// net.ipv4.ping_group_range allows it, a raw socket (CAP_NET_RAW) with a BPF filter otherwise.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/net/address.h"
#include "probes/net/packet.h"
#include "probes/net/socket_util.h"

namespace cbe::net {

struct EchoSocket {
  Fd fd;
  bool raw = false;
  std::uint16_t id = 0;
  std::string error;  // Set when the family cannot send echoes.
};

EchoSocket OpenEchoSocket(int family);

// Opens the echo socket of a family; injected in tests (e.g. an fd that is not a socket).
using EchoSocketOpener = std::function<EchoSocket(int family)>;

// An echo sent and neither answered nor forgotten.
struct AwaitedEcho {
  IpAddress to;
  std::size_t peer = 0;  // The caller's index of `to`.
  std::chrono::steady_clock::time_point at;
};

// The sequence number of the awaited echo that `data`, read from socket `s` and sent by `from`,
// answers: an echo reply with our identifier (a raw socket reads every one) and the sequence
// number of an echo sent to `from`. A reply from another address (a spoofed or stray one with
// our numbers) answers nothing, and the echo stays awaited for its peer's own reply.
std::optional<std::uint16_t> MatchEchoReply(Bytes data, const std::optional<IpAddress>& from,
                                            const EchoSocket& s, bool v6,
                                            const std::map<std::uint16_t, AwaitedEcho>& awaited);

// Sends echoes and collects their replies for all peers of a round.
class EchoLoop {
 public:
  // `dont_fragment`: every echo leaves with don't-fragment set (the path MTU search); a socket
  // that refuses it cannot be used (its error says why).
  EchoLoop(const Clock& clock, bool dont_fragment, EchoSocketOpener open = OpenEchoSocket);

  // The family's socket, opened on first use.
  const EchoSocket& Socket(int family);

  // Sends one echo of `packet_size` bytes (IP header included) to `peer`; returns the sequence
  // number used.
  Result<std::uint16_t> Send(const IpAddress& peer, std::size_t peer_index,
                             std::size_t packet_size);

  // Waits for replies until `until`; calls on_reply(peer_index, seq, rtt_seconds, sender) for the
  // first reply to each echo from the address it was sent to (the echo is then forgotten: a
  // second reply matches nothing).
  template <typename F>
  void Receive(std::chrono::steady_clock::time_point until, F on_reply);

  // Forgets an echo its sender no longer waits for (its step or round ended): a late reply then
  // matches nothing, and a search of thousands of echoes keeps only those still awaited.
  void Forget(std::uint16_t seq) { sent_.erase(seq); }

  // Echoes sent and neither answered nor forgotten.
  std::size_t Outstanding() const { return sent_.size(); }

 private:
  // The echo reply in `data` from `from`, if it answers one of our echoes still awaited.
  std::optional<std::uint16_t> Match(Bytes data, const sockaddr_storage& from,
                                     const std::optional<IpAddress>& sender) const;

  const Clock& clock_;
  bool dont_fragment_;
  EchoSocketOpener open_;
  std::map<int, EchoSocket> sockets_;
  std::map<std::uint16_t, AwaitedEcho> sent_;
  std::uint16_t next_seq_;
};

// Large enough for a jumbo frame's echo reply.
inline constexpr std::size_t kEchoBufferSize = 9000;

template <typename F>
void EchoLoop::Receive(std::chrono::steady_clock::time_point until, F on_reply) {
  std::vector<int> fds;
  for (auto& [family, s] : sockets_) {
    if (s.error.empty()) {
      fds.push_back(s.fd.get());
    }
  }
  if (fds.empty()) {
    // No socket to read (every family failed): still wait until `until`, on the injected clock,
    // so a caller waiting for its next send neither spins nor, under a fake clock, hangs.
    clock_.Poll(nullptr, 0, until);
    return;
  }
  std::uint8_t buf[kEchoBufferSize];
  for (int fd : WaitReadable(fds, until, clock_)) {
    ReceiveDatagrams(fd, buf, kMaxDatagramsPerWake, [&](Bytes data, const sockaddr_storage& from) {
      const auto sender = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from));
      const auto seq = Match(data, from, sender);
      if (!seq) {
        return;
      }
      const auto it = sent_.find(*seq);
      const AwaitedEcho sent = it->second;
      sent_.erase(it);
      on_reply(sent.peer, *seq, std::chrono::duration<double>(clock_.Monotonic() - sent.at).count(),
               sender);
    });
  }
}

}  // namespace cbe::net
