#include "probes/clock/icmp_timestamp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
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

namespace {

// The raw ICMP socket of a timestamp round, filtered to replies with our identifier.
Result<net::Fd> OpenTimestampSocket(std::uint16_t id) {
  auto raw = net::OpenSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (!raw) {
    return raw.error();
  }
  if (auto f = net::AttachFilter(raw->get(), TimestampReplyFilter(id)); !f) {
    return f.error();
  }
  net::Drain(raw->get());
  return std::move(*raw);
}

// One round of timestamp requests to the IPv4 peers: `count` each, round robin at the
// configured rate, answers read until the timeout after the last request; the sample with the
// smallest round trip wins.
class TimestampRound {
 public:
  TimestampRound(const std::vector<net::IpAddress>& peers, std::vector<std::size_t> v4,
                 const PeerClockOptions& options, const Clock& clock, net::Fd socket,
                 std::uint16_t id, std::vector<PeerClockResult>* out)
      : peers_(peers),
        v4_(std::move(v4)),
        options_(options),
        clock_(clock),
        socket_(std::move(socket)),
        id_(id),
        out_(*out),
        best_(peers.size()),
        first_seq_(static_cast<std::uint16_t>(std::random_device{}())),
        next_seq_(first_seq_),
        interval_(net::PacketInterval(options.packets_per_second)),
        total_(v4_.size() * static_cast<std::size_t>(std::max(0, options.count))),
        sent_(std::min(total_, kSequenceNumbers)) {}

  void Run() {
    next_send_ = last_sent_ = clock_.Monotonic();
    while (true) {
      const auto now = clock_.Monotonic();
      SendDue(now);
      const bool all_sent = k_ >= total_;
      if (all_sent && (outstanding_ == 0 || now >= last_sent_ + options_.timeout)) {
        break;
      }
      const auto wake = all_sent ? last_sent_ + options_.timeout : std::max(next_send_, now);
      if (!net::WaitReadable({socket_.get()}, wake, clock_).empty()) {
        Receive();
      }
    }
    Finish();
  }

 private:
  // The request of one sequence number, in a slot of its own: the k-th request has sequence
  // number first_seq_ + k, so a flat vector (24 bytes a request) holds what a map held in 80.
  // Past 65,536 requests a sequence number comes round again and its slot is the later request's.
  struct Sent {
    double t1_ms = 0;  // Its originate timestamp is this, truncated.
    steady_clock::time_point at;
    std::uint32_t peer = 0;
    bool valid = false;
    bool answered = false;
  };
  static constexpr std::size_t kSequenceNumbers = 65536;

  Sent* SlotOf(std::uint16_t seq) {
    const std::size_t slot = static_cast<std::uint16_t>(seq - first_seq_);
    return slot < sent_.size() ? &sent_[slot] : nullptr;
  }

  // Sends the requests the rate limit allows by `now`.
  void SendDue(steady_clock::time_point now) {
    while (k_ < total_ && next_send_ <= now) {
      const std::size_t i = v4_[k_ % v4_.size()];  // Round robin: one request per peer at a time.
      ++k_;
      out_[i].probed = true;
      ++out_[i].sent;
      const std::uint16_t seq = next_seq_++;
      const auto at = clock_.Monotonic();
      const double t1_ms = MsSinceMidnightUtc(clock_.Now());
      const auto originate = static_cast<std::uint32_t>(t1_ms);
      const auto pkt = BuildIcmpTimestampRequest(id_, seq, originate);
      sockaddr_storage to{};
      const socklen_t to_len = peers_[i].ToSockaddr(0, &to);
      if (::sendto(socket_.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   to_len) < 0) {
        out_[i].reason = net::ErrnoText("sendto", errno);
        continue;
      }
      *SlotOf(seq) = Sent{t1_ms, at, static_cast<std::uint32_t>(i), true, false};
      ++outstanding_;
      last_sent_ = clock_.Monotonic();
      next_send_ += interval_;
    }
  }

  void Receive() {
    net::ReceiveDatagrams(socket_.get(), buf_, net::kMaxDatagramsPerWake,
                          [&](net::Bytes data, const sockaddr_storage&) { OnDatagram(data); });
  }

  // One reply: its offset sample, kept if its round trip is the smallest so far.
  void OnDatagram(net::Bytes data) {
    const auto mono = clock_.Monotonic();
    auto reply = ParseIcmpTimestampReply(data, true);
    if (!reply || reply->id != id_) {
      return;
    }
    Sent* sent = SlotOf(reply->seq);
    if (sent == nullptr || !sent->valid || sent->answered) {
      return;
    }
    const std::size_t i = sent->peer;
    if (reply->src && *reply->src != peers_[i]) {
      return;  // Someone else's reply with our sequence number.
    }
    sent->answered = true;
    --outstanding_;
    ++out_[i].received;
    if (reply->originate != static_cast<std::uint32_t>(sent->t1_ms)) {
      out_[i].reason = "reply does not echo our originate timestamp";
      return;
    }
    const double t4_ms =
        sent->t1_ms + std::chrono::duration<double, std::milli>(mono - sent->at).count();
    auto sample = ComputeTimestampOffset(*reply, sent->t1_ms, t4_ms);
    if (!sample) {
      out_[i].reason = sample.error().message;
      return;
    }
    if (!best_[i] || sample->rtt_seconds < best_[i]->rtt_seconds) {
      best_[i] = *sample;
    }
  }

  void Finish() {
    for (std::size_t i : v4_) {
      if (best_[i]) {
        out_[i].offset_seconds = best_[i]->offset_seconds;
        out_[i].rtt_seconds = best_[i]->rtt_seconds;
        out_[i].reason.clear();
      } else if (out_[i].received == 0 && out_[i].reason.empty()) {
        out_[i].reason = "no timestamp reply within " + FormatTimeout(options_.timeout);
      }
    }
  }

  const std::vector<net::IpAddress>& peers_;
  const std::vector<std::size_t> v4_;
  const PeerClockOptions& options_;
  const Clock& clock_;
  net::Fd socket_;
  const std::uint16_t id_;
  std::vector<PeerClockResult>& out_;
  std::vector<std::optional<ClockSample>> best_;
  const std::uint16_t first_seq_;
  std::uint16_t next_seq_;
  const steady_clock::duration interval_;
  const std::size_t total_;
  std::size_t k_ = 0;
  std::size_t outstanding_ = 0;
  steady_clock::time_point next_send_;
  steady_clock::time_point last_sent_;
  std::vector<Sent> sent_;
  std::uint8_t buf_[kReplyBufferSize];
};

}  // namespace

std::vector<PeerClockResult> RunPeerClockProbe(const std::vector<net::IpAddress>& peers,
                                               const PeerClockOptions& options,
                                               const Clock& clock) {
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
  const auto id = static_cast<std::uint16_t>(std::random_device{}());
  auto socket = OpenTimestampSocket(id);
  if (!socket) {
    for (std::size_t i : v4) {
      out[i].reason = socket.error().message;
    }
    return out;
  }
  TimestampRound(peers, std::move(v4), options, clock, std::move(*socket), id, &out).Run();
  return out;
}

}  // namespace cbe::probes
