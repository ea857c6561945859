#include "probes/clock/ntp.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "exporter/base/duration.h"
#include "probes/net/address.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

using std::chrono::steady_clock;

constexpr std::int64_t kNtpUnixEpochDelta = 2'208'988'800;  // 1900-01-01 to 1970-01-01.
constexpr double kTwoTo32 = 4294967296.0;

std::uint64_t Get64(net::Bytes d, std::size_t off) {
  return static_cast<std::uint64_t>(net::ReadBe32(d, off)) << 32 | net::ReadBe32(d, off + 4);
}

// Kiss codes are ASCII letters and digits, padded with NULs or spaces.
std::optional<std::string> KissCode(std::uint32_t reference_id) {
  std::string code;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((reference_id >> shift) & 0xff);
    if (c == '\0' || c == ' ') {
      break;
    }
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return std::nullopt;
    }
    code += c;
  }
  if (code.empty()) {
    return std::nullopt;
  }
  return code;
}

std::string KissMeaning(const std::string& code) {
  if (code == "RATE") {
    return " (rate exceeded: the server asks to poll less often)";
  }
  if (code == "DENY") {
    return " (access denied)";
  }
  if (code == "RSTR") {
    return " (access restricted)";
  }
  return "";
}

std::string HostPortText(const net::IpAddress& ip, std::uint16_t port) {
  return ip.is_v6() ? "[" + ip.ToString() + "]:" + std::to_string(port)
                    : ip.ToString() + ":" + std::to_string(port);
}

// A host name and port from "name" or "name:port"; nullopt when it is neither an IP literal nor
// such a name.
std::optional<std::pair<std::string, std::uint16_t>> SplitName(const std::string& text) {
  std::string host = text;
  std::uint16_t port = kNtpPort;
  if (const std::size_t colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    const std::string p = text.substr(colon + 1);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535) {
      return std::nullopt;
    }
    port = static_cast<std::uint16_t>(v);
  }
  if (host.empty() || host.find_first_of(":[]/ ") != std::string::npos) {
    return std::nullopt;
  }
  return std::pair{host, port};
}

// One name being resolved on a detached thread; the thread keeps this alive until it is done,
// so a caller that gave up at its deadline never waits for it.
struct Resolution {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  std::optional<net::IpAddress> ip;
  std::string error;
};

std::shared_ptr<Resolution> StartResolution(const std::string& host) {
  auto r = std::make_shared<Resolution>();
  try {
    std::thread([r, host] {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_DGRAM;
      addrinfo* res = nullptr;
      const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
      std::optional<net::IpAddress> ip;
      std::string error;
      if (rc != 0) {
        error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
      } else {
        for (addrinfo* a = res; a != nullptr && !ip; a = a->ai_next) {
          ip = net::IpAddress::FromSockaddr(a->ai_addr);
        }
        ::freeaddrinfo(res);
        if (!ip) {
          error = "no IPv4 or IPv6 address for " + host;
        }
      }
      std::lock_guard lock(r->mu);
      r->ip = ip;
      r->error = error;
      r->done = true;
      r->done_cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    std::lock_guard lock(r->mu);
    r->error = std::string("cannot start a resolver thread: ") + e.what();
    r->done = true;
  }
  return r;
}

}  // namespace

NtpTimestamp ToNtpTimestamp(std::chrono::system_clock::time_point t) {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac_ns = ns % 1'000'000'000;
  if (frac_ns < 0) {
    frac_ns += 1'000'000'000;
    --secs;
  }
  const auto ntp_secs =
      static_cast<std::uint32_t>(static_cast<std::uint64_t>(secs + kNtpUnixEpochDelta));
  const auto frac =
      static_cast<std::uint32_t>((static_cast<std::uint64_t>(frac_ns) << 32) / 1'000'000'000ULL);
  return static_cast<std::uint64_t>(ntp_secs) << 32 | frac;
}

double NtpDifferenceSeconds(NtpTimestamp a, NtpTimestamp b) {
  return static_cast<double>(static_cast<std::int64_t>(a - b)) / kTwoTo32;
}

std::array<std::uint8_t, kNtpPacketSize> EncodeNtpRequest(NtpTimestamp transmit) {
  std::array<std::uint8_t, kNtpPacketSize> p{};
  p[0] = (0 << 6) | (4 << 3) | 3;  // No leap warning, version 4, mode 3 (client).
  for (int i = 0; i < 8; ++i) {
    p[40 + i] = static_cast<std::uint8_t>(transmit >> (56 - 8 * i));
  }
  return p;
}

Result<NtpPacket> DecodeNtpPacket(net::Bytes d) {
  if (d.size() < kNtpPacketSize) {
    return Error{"truncated NTP packet: " + std::to_string(d.size()) + " bytes, the header needs " +
                 std::to_string(kNtpPacketSize)};
  }
  NtpPacket p;
  p.leap = d[0] >> 6;
  p.version = (d[0] >> 3) & 0x7;
  p.mode = d[0] & 0x7;
  if (p.version < 1 || p.version > 4) {
    return Error{"unsupported NTP version " + std::to_string(p.version)};
  }
  p.stratum = d[1];
  // Poll and precision are signed bytes (log2 seconds).
  p.poll = d[2] < 128 ? d[2] : d[2] - 256;
  p.precision = d[3] < 128 ? d[3] : d[3] - 256;
  p.root_delay_seconds = net::ReadBe32(d, 4) / 65536.0;
  p.root_dispersion_seconds = net::ReadBe32(d, 8) / 65536.0;
  p.reference_id = net::ReadBe32(d, 12);
  p.reference = Get64(d, 16);
  p.origin = Get64(d, 24);
  p.receive = Get64(d, 32);
  p.transmit = Get64(d, 40);
  return p;
}

std::string ReferenceIdText(std::uint32_t id, int stratum) {
  if (stratum <= 1) {
    if (auto code = KissCode(id)) {
      return *code;
    }
  }
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", id >> 24, (id >> 16) & 0xff, (id >> 8) & 0xff,
                id & 0xff);
  return buf;
}

NtpServerResult EvaluateNtpReply(net::Bytes reply, NtpTimestamp t1, NtpTimestamp t4) {
  NtpServerResult r;
  auto p = DecodeNtpPacket(reply);
  if (!p) {
    r.reason = p.error().message;
    return r;
  }
  if (p->mode != 4) {
    r.reason = "not a server reply (mode " + std::to_string(p->mode) + ")";
    return r;
  }
  if (p->origin != t1) {
    r.reason = "origin timestamp does not echo our request (a stale or forged reply)";
    return r;
  }
  r.stratum = p->stratum;
  r.leap = p->leap;
  r.reference_id = ReferenceIdText(p->reference_id, p->stratum);
  r.root_delay_seconds = p->root_delay_seconds;
  r.root_dispersion_seconds = p->root_dispersion_seconds;
  if (p->stratum == 0) {
    if (auto code = KissCode(p->reference_id)) {
      r.kiss_code = *code;
      r.reason = "kiss-o'-death " + *code + KissMeaning(*code);
    } else if (p->leap == 3) {
      r.reason = "server unsynchronised (leap indicator 3, stratum 0)";
    } else {
      r.reason = "stratum 0 (unspecified) without a kiss code";
    }
    return r;
  }
  if (p->leap == 3) {
    r.reason = "server unsynchronised (leap indicator 3)";
    return r;
  }
  if (p->stratum > 15) {
    r.reason = "server unsynchronised (stratum " + std::to_string(p->stratum) + ")";
    return r;
  }
  if (p->receive == 0 || p->transmit == 0) {
    r.reason = "zero receive or transmit timestamp";
    return r;
  }
  const double t21 = NtpDifferenceSeconds(p->receive, t1);
  const double t34 = NtpDifferenceSeconds(p->transmit, t4);
  const double server_time = NtpDifferenceSeconds(p->transmit, p->receive);
  const double round_trip = NtpDifferenceSeconds(t4, t1);
  r.offset_seconds = (t21 + t34) / 2;
  // Below zero only through the clocks' resolution: report zero.
  r.rtt_seconds = std::max(0.0, round_trip - server_time);
  r.up = true;
  return r;
}

namespace {

// One server of a query: its name resolution, its socket and request.
struct NtpQuery {
  std::shared_ptr<Resolution> resolving;
  std::uint16_t port = kNtpPort;
  net::Fd fd;
  NtpTimestamp t1 = 0;
  steady_clock::time_point sent_at;
  bool done = false;
};

// Connects a UDP socket to `ip` and sends the request; on failure the server is done.
void SendRequest(const net::IpAddress& ip, const NtpQueryOptions& options, const Clock& clock,
                 NtpQuery* q, NtpServerResult* out) {
  out->address = HostPortText(ip, q->port);
  auto fd = net::OpenSocket(ip.family(), SOCK_DGRAM, 0);
  if (!fd) {
    out->reason = fd.error().message;
    q->done = true;
    return;
  }
  sockaddr_storage to{};
  const socklen_t len = ip.ToSockaddr(q->port, &to);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&to), len) != 0) {
    out->reason = net::ErrnoText("connect " + out->address, errno);
    q->done = true;
    return;
  }
  q->sent_at = clock.Monotonic();
  q->t1 = ToNtpTimestamp(clock.Now());
  const auto request = EncodeNtpRequest(q->t1);
  if (::send(fd->get(), request.data(), request.size(), 0) < 0) {
    out->reason = net::ErrnoText("send to " + out->address, errno);
    q->done = true;
    return;
  }
  out->reason = "no reply within " + FormatTimeout(options.timeout);
  q->fd = std::move(*fd);
}

// Sends the requests of names resolved since the last pass. True while some still resolve.
bool SendResolved(const NtpQueryOptions& options, const Clock& clock, std::vector<NtpQuery>* q,
                  std::vector<NtpServerResult>* out) {
  bool resolving = false;
  for (std::size_t i = 0; i < q->size(); ++i) {
    NtpQuery& query = (*q)[i];
    if (!query.resolving) {
      continue;
    }
    std::optional<net::IpAddress> ip;
    std::string error;
    {
      std::lock_guard lock(query.resolving->mu);
      if (!query.resolving->done) {
        resolving = true;
        continue;
      }
      ip = query.resolving->ip;
      error = query.resolving->error;
    }
    query.resolving.reset();
    if (ip) {
      SendRequest(*ip, options, clock, &query, &(*out)[i]);
    } else {
      (*out)[i].reason = error;
      query.done = true;
    }
  }
  return resolving;
}

// Reads every queued datagram of one server's socket. A reply that fails the checks is kept,
// but a later good one still counts; an error (e.g. ICMP port unreachable) ends the server.
void ReadReplies(const Clock& clock, NtpQuery* q, NtpServerResult* out) {
  std::uint8_t buf[1024];
  while (!q->done) {
    const ssize_t len = ::recv(q->fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (len < 0) {
      if (errno == ECONNREFUSED) {
        out->reason = "connection refused: nothing listens on " + out->address;
        q->done = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        out->reason = net::ErrnoText("recv from " + out->address, errno);
        q->done = true;
      }
      return;
    }
    const auto elapsed = clock.Monotonic() - q->sent_at;
    const NtpTimestamp t4 = q->t1 + static_cast<std::uint64_t>(
                                        std::chrono::duration<double>(elapsed).count() * kTwoTo32);
    NtpServerResult r = EvaluateNtpReply(net::Bytes(buf, static_cast<std::size_t>(len)), q->t1, t4);
    r.server = out->server;
    r.address = out->address;
    *out = std::move(r);
    q->done = out->up;
  }
}

// While names resolve, the loop looks at them again this often.
constexpr std::chrono::milliseconds kResolvePollInterval{10};

}  // namespace

std::vector<NtpServerResult> QueryNtpServers(const std::vector<std::string>& servers,
                                             const NtpQueryOptions& options, const Clock& clock) {
  const auto deadline = clock.Monotonic() + options.timeout;
  std::vector<NtpServerResult> out(servers.size());
  std::vector<NtpQuery> q(servers.size());
  for (std::size_t i = 0; i < servers.size(); ++i) {
    out[i].server = servers[i];
    if (auto hp = net::ParseHostPort(servers[i], kNtpPort)) {
      q[i].port = hp->second;
      SendRequest(hp->first, options, clock, &q[i], &out[i]);
    } else if (auto name = SplitName(servers[i])) {
      q[i].port = name->second;
      q[i].resolving = StartResolution(name->first);
    } else {
      out[i].reason = "not an address or host name: \"" + servers[i] + "\"";
      q[i].done = true;
    }
  }
  while (true) {
    const bool resolving = SendResolved(options, clock, &q, &out);
    std::vector<pollfd> pfds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      if (!q[i].done && q[i].fd.valid()) {
        pfds.push_back({q[i].fd.get(), POLLIN, 0});
        index.push_back(i);
      }
    }
    const auto now = clock.Monotonic();
    if ((pfds.empty() && !resolving) || now >= deadline) {
      break;
    }
    // The deadline comes from the injected clock, and so does the wait (clock.Poll).
    const auto until = resolving ? std::min(deadline, now + kResolvePollInterval) : deadline;
    if (clock.Poll(pfds.data(), pfds.size(), until) <= 0) {
      continue;
    }
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents != 0) {
        ReadReplies(clock, &q[index[k]], &out[index[k]]);
      }
    }
  }
  for (std::size_t i = 0; i < servers.size(); ++i) {
    if (q[i].resolving) {
      out[i].reason = "name not resolved within " + FormatTimeout(options.timeout);
    }
  }
  return out;
}

}  // namespace cbe::probes
