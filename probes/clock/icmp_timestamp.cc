#include "probes/clock/icmp_timestamp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "exporter/base/duration.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

using std::chrono::steady_clock;

constexpr std::uint8_t kTypeTimestamp = 13;
constexpr std::uint8_t kTypeTimestampReply = 14;
constexpr std::uint8_t kProtoIcmp = 1;
// A timestamp reply with its IPv4 header (and options) fits easily.
constexpr std::size_t kReplyBufferSize = 2048;

}  // namespace

double MsSinceMidnightUtc(std::chrono::system_clock::time_point t) {
  constexpr std::int64_t kNsPerDay = kMsPerDay * 1'000'000;
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::int64_t of_day = ns % kNsPerDay;
  if (of_day < 0) {
    of_day += kNsPerDay;
  }
  return static_cast<double>(of_day) / 1e6;
}

double WrapDayDifferenceMs(double a, double b) {
  constexpr auto kDay = static_cast<double>(kMsPerDay);
  double d = std::fmod(a - b, kDay);
  if (d >= kDay / 2) {
    d -= kDay;
  } else if (d < -kDay / 2) {
    d += kDay;
  }
  return d;
}

std::vector<std::uint8_t> BuildIcmpTimestampRequest(std::uint16_t id, std::uint16_t seq,
                                                    std::uint32_t originate_ms) {
  std::vector<std::uint8_t> p(kIcmpTimestampSize, 0);
  p[0] = kTypeTimestamp;
  net::WriteBe16(&p, 4, id);
  net::WriteBe16(&p, 6, seq);
  net::WriteBe32(&p, 8, originate_ms);
  net::WriteBe16(&p, 2, net::InternetChecksum(p));
  return p;
}

Result<IcmpTimestampReply> ParseIcmpTimestampReply(net::Bytes d, bool with_ipv4_header) {
  IcmpTimestampReply r;
  std::size_t off = 0;
  if (with_ipv4_header) {
    if (d.size() < 20 || (d[0] >> 4) != 4) {
      return Error{"not an IPv4 packet"};
    }
    off = static_cast<std::size_t>(d[0] & 0x0f) * 4;
    if (off < 20 || off > d.size()) {
      return Error{"bad IPv4 header length"};
    }
    if (d[9] != kProtoIcmp) {
      return Error{"not ICMP (protocol " + std::to_string(d[9]) + ")"};
    }
    in_addr a{};
    std::memcpy(&a, d.data() + 12, 4);
    r.src = net::IpAddress::FromV4(a);
  }
  const net::Bytes icmp = d.subspan(off);
  if (icmp.size() < kIcmpTimestampSize) {
    return Error{"truncated ICMP timestamp reply: " + std::to_string(icmp.size()) + " bytes of " +
                 std::to_string(kIcmpTimestampSize)};
  }
  if (icmp[0] != kTypeTimestampReply) {
    return Error{"not an ICMP timestamp reply (type " + std::to_string(icmp[0]) + ")"};
  }
  if (net::InternetChecksum(icmp) != 0) {
    return Error{"bad ICMP checksum"};
  }
  r.id = net::ReadBe16(icmp, 4);
  r.seq = net::ReadBe16(icmp, 6);
  r.originate = net::ReadBe32(icmp, 8);
  r.receive = net::ReadBe32(icmp, 12);
  r.transmit = net::ReadBe32(icmp, 16);
  return r;
}

std::vector<sock_filter> TimestampReplyFilter(std::uint16_t id) {
  // X = IPv4 header length; A = ICMP type; accept type 14 with our identifier.
  return {
      {BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0},
      {BPF_LD | BPF_B | BPF_IND, 0, 0, 0},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 3, kTypeTimestampReply},
      {BPF_LD | BPF_H | BPF_IND, 0, 0, 4},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, id},
      {BPF_RET | BPF_K, 0, 0, 0xffffffff},
      {BPF_RET | BPF_K, 0, 0, 0},
  };
}

Result<ClockSample> ComputeTimestampOffset(const IcmpTimestampReply& reply, double t1_ms,
                                           double t4_ms) {
  if (((reply.receive | reply.transmit) & kNonStandardTimestampBit) != 0) {
    return Error{
        "non-standard timestamp (high bit set): the peer's clock is not given in milliseconds "
        "since midnight UTC"};
  }
  if (reply.receive >= kMsPerDay || reply.transmit >= kMsPerDay) {
    return Error{"timestamp beyond one day (" +
                 std::to_string(std::max(reply.receive, reply.transmit)) +
                 " ms): not milliseconds since midnight UTC (wrong byte order?)"};
  }
  const double t2 = reply.receive + 0.5;
  const double t3 = reply.transmit + 0.5;
  const double offset_ms = (WrapDayDifferenceMs(t2, t1_ms) + WrapDayDifferenceMs(t3, t4_ms)) / 2;
  const double rtt_ms = WrapDayDifferenceMs(t4_ms, t1_ms) - WrapDayDifferenceMs(t3, t2);
  return ClockSample{offset_ms / 1000.0, std::max(0.0, rtt_ms) / 1000.0};
}

std::vector<PeerClockResult> RunPeerClockProbe(const std::vector<net::IpAddress>& peers,
                                               const PeerClockOptions& options,
                                               const Clock& clock) {
  struct Sent {
    std::size_t peer = 0;
    std::uint32_t originate = 0;
    double t1_ms = 0;
    steady_clock::time_point at;
    bool answered = false;
  };
  std::vector<PeerClockResult> out(peers.size());
  std::vector<std::size_t> v4;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].peer = peers[i];
    if (peers[i].is_v4()) {
      v4.push_back(i);
    } else {
      out[i].reason = "ICMP timestamps exist only in IPv4";
    }
  }
  if (v4.empty()) {
    return out;
  }
  auto raw = net::OpenSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  const std::uint16_t id = static_cast<std::uint16_t>(std::random_device{}());
  if (raw) {
    if (auto f = net::AttachFilter(raw->get(), TimestampReplyFilter(id)); !f) {
      raw = f.error();
    }
  }
  if (!raw) {
    for (std::size_t i : v4) {
      out[i].reason = raw.error().message;
    }
    return out;
  }
  net::Drain(raw->get());

  std::map<std::uint16_t, Sent> sent;
  std::vector<std::optional<ClockSample>> best(peers.size());
  std::uint16_t next_seq = static_cast<std::uint16_t>(std::random_device{}());
  const auto interval = net::PacketInterval(options.packets_per_second);
  const std::size_t total = v4.size() * static_cast<std::size_t>(std::max(0, options.count));
  std::size_t k = 0;
  std::size_t outstanding = 0;
  auto next_send = clock.Monotonic();
  auto last_sent = next_send;
  std::uint8_t buf[kReplyBufferSize];

  const auto receive = [&] {
    net::ReceiveDatagrams(
        raw->get(), buf, net::kMaxDatagramsPerWake, [&](net::Bytes data, const sockaddr_storage&) {
          const auto mono = clock.Monotonic();
          auto reply = ParseIcmpTimestampReply(data, true);
          if (!reply || reply->id != id) {
            return;
          }
          auto it = sent.find(reply->seq);
          if (it == sent.end() || it->second.answered) {
            return;
          }
          const std::size_t i = it->second.peer;
          if (reply->src && *reply->src != peers[i]) {
            return;  // Someone else's reply with our sequence number.
          }
          it->second.answered = true;
          --outstanding;
          ++out[i].received;
          if (reply->originate != it->second.originate) {
            out[i].reason = "reply does not echo our originate timestamp";
            return;
          }
          const double t4_ms =
              it->second.t1_ms +
              std::chrono::duration<double, std::milli>(mono - it->second.at).count();
          auto sample = ComputeTimestampOffset(*reply, it->second.t1_ms, t4_ms);
          if (!sample) {
            out[i].reason = sample.error().message;
            return;
          }
          if (!best[i] || sample->rtt_seconds < best[i]->rtt_seconds) {
            best[i] = *sample;
          }
        });
  };

  while (true) {
    const auto now = clock.Monotonic();
    while (k < total && next_send <= now) {
      const std::size_t i = v4[k % v4.size()];  // Round robin: one request per peer at a time.
      ++k;
      out[i].probed = true;
      ++out[i].sent;
      const std::uint16_t seq = next_seq++;
      const auto at = clock.Monotonic();
      const double t1_ms = MsSinceMidnightUtc(clock.Now());
      const auto originate = static_cast<std::uint32_t>(t1_ms);
      const auto pkt = BuildIcmpTimestampRequest(id, seq, originate);
      sockaddr_storage to{};
      const socklen_t to_len = peers[i].ToSockaddr(0, &to);
      if (::sendto(raw->get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   to_len) < 0) {
        out[i].reason = net::ErrnoText("sendto", errno);
        continue;
      }
      sent[seq] = Sent{i, originate, t1_ms, at, false};
      ++outstanding;
      last_sent = clock.Monotonic();
      next_send += interval;
    }
    if (k >= total && (outstanding == 0 || now >= last_sent + options.timeout)) {
      break;
    }
    const auto wake = k >= total ? last_sent + options.timeout : std::max(next_send, now);
    if (!net::WaitReadable({raw->get()}, wake, clock).empty()) {
      receive();
    }
  }
  for (std::size_t i : v4) {
    if (best[i]) {
      out[i].offset_seconds = best[i]->offset_seconds;
      out[i].rtt_seconds = best[i]->rtt_seconds;
      out[i].reason.clear();
    } else if (out[i].received == 0 && out[i].reason.empty()) {
      out[i].reason = "no timestamp reply within " + FormatTimeout(options.timeout);
    }
  }
  return out;
}

}  // namespace cbe::probes
