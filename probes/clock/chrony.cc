#include "probes/clock/chrony.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "exporter/base/duration.h"
#include "probes/net/address.h"
#include "probes/net/socket_util.h"

namespace cbe::probes {
namespace {

using std::chrono::steady_clock;

constexpr std::uint8_t kPacketRequest = 1;
constexpr std::uint8_t kPacketReply = 2;
constexpr std::uint16_t kRequestTracking = 33;
constexpr std::uint16_t kReplyTracking = 5;
constexpr std::size_t kRequestHeaderSize = 20;
constexpr std::size_t kReplyHeaderSize = 28;
constexpr std::uint32_t kNoHighSeconds = 0x7fffffff;  // tv_sec_high of a 32-bit time_t.

// chrony's STT_* codes (candm.h).
std::string StatusText(std::uint16_t status) {
  switch (status) {
    case 1:
      return "failed";
    case 2:
      return "not authorised (the command is allowed only on chronyd's Unix socket)";
    case 3:
      return "invalid command";
    case 6:
      return "not enabled";
    case 9:
      return "access denied";
    case 18:
      return "bad packet version";
    case 19:
      return "bad packet length";
    default:
      return "error";
  }
}

std::string Hex32(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08X", v);
  return buf;
}

}  // namespace

std::vector<std::uint8_t> EncodeChronyTrackingRequest(std::uint32_t sequence,
                                                      std::uint16_t attempt) {
  std::vector<std::uint8_t> p(kChronyTrackingRequestSize, 0);
  p[0] = kChronyProtocolVersion;
  p[1] = kPacketRequest;
  net::WriteBe16(&p, 4, kRequestTracking);
  net::WriteBe16(&p, 6, attempt);
  net::WriteBe32(&p, 8, sequence);
  // Bytes 12..19: pad words; the rest: padding up to the reply's length.
  return p;
}

double DecodeChronyFloat(std::uint32_t raw) {
  constexpr int kCoefBits = 25;
  int exp = static_cast<int>(raw >> kCoefBits);  // 0..127, signed 7 bits.
  if (exp >= 64) {
    exp -= 128;
  }
  auto coef = static_cast<std::int32_t>(raw & ((1U << kCoefBits) - 1));
  if (coef >= (1 << (kCoefBits - 1))) {
    coef -= 1 << kCoefBits;
  }
  return std::ldexp(static_cast<double>(coef), exp - kCoefBits);
}

std::string_view ChronyLeapName(int leap_status) {
  switch (leap_status) {
    case 0:
      return "normal";
    case 1:
      return "insert_second";
    case 2:
      return "delete_second";
    case 3:
      return "unsynchronised";
    default:
      return "unknown";
  }
}

namespace {

// The reply header (version, type, sequence, command, status, reply type) and the size of a
// tracking report.
Result<bool> CheckTrackingHeader(net::Bytes d, std::uint32_t sequence) {
  if (d.size() < kReplyHeaderSize) {
    return Error{"truncated chrony reply: " + std::to_string(d.size()) +
                 " bytes, the header needs " + std::to_string(kReplyHeaderSize)};
  }
  if (d[0] != kChronyProtocolVersion) {
    return Error{"chronyd speaks command protocol version " + std::to_string(d[0]) + ", not " +
                 std::to_string(kChronyProtocolVersion)};
  }
  if (d[1] != kPacketReply) {
    return Error{"not a chrony reply (packet type " + std::to_string(d[1]) + ")"};
  }
  const std::uint16_t command = net::ReadBe16(d, 4);
  const std::uint16_t reply = net::ReadBe16(d, 6);
  const std::uint16_t status = net::ReadBe16(d, 8);
  if (net::ReadBe32(d, 16) != sequence) {
    return Error{"chrony reply to another request (sequence " +
                 std::to_string(net::ReadBe32(d, 16)) + ", sent " + std::to_string(sequence) + ")"};
  }
  if (command != kRequestTracking) {
    return Error{"chrony reply to command " + std::to_string(command) + ", not tracking (33)"};
  }
  if (status != 0) {
    return Error{"chronyd refused the tracking request: " + StatusText(status) + " (status " +
                 std::to_string(status) + ")"};
  }
  if (reply != kReplyTracking) {
    return Error{"chrony reply of type " + std::to_string(reply) + ", not a tracking report (5)"};
  }
  if (d.size() < kChronyTrackingReplySize) {
    return Error{"truncated chrony tracking report: " + std::to_string(d.size()) + " bytes of " +
                 std::to_string(kChronyTrackingReplySize)};
  }
  return true;
}

// The reference's address at offset o + 4, by its family at o + 20 ("" for none).
Result<std::string> DecodeReferenceAddress(net::Bytes d, std::size_t o) {
  const std::uint16_t family = net::ReadBe16(d, o + 20);
  switch (family) {
    case 0:
      return std::string();
    case 1: {
      in_addr a{};
      std::memcpy(&a, d.data() + o + 4, 4);
      return net::IpAddress::FromV4(a).ToString();
    }
    case 2: {
      in6_addr a{};
      std::memcpy(&a, d.data() + o + 4, 16);
      return net::IpAddress::FromV6(a).ToString();
    }
    case 3:
      return "ID#" + std::to_string(net::ReadBe32(d, o + 4));  // An unresolved source.
    default:
      return Error{"chrony tracking report with unknown address family " + std::to_string(family)};
  }
}

}  // namespace

Result<ChronyTracking> DecodeChronyTrackingReply(net::Bytes d, std::uint32_t sequence) {
  if (auto header = CheckTrackingHeader(d, sequence); !header) {
    return header.error();
  }
  ChronyTracking t;
  std::size_t o = kReplyHeaderSize;
  t.reference_id = net::ReadBe32(d, o);
  t.reference_id_hex = Hex32(t.reference_id);
  auto address = DecodeReferenceAddress(d, o);
  if (!address) {
    return address.error();
  }
  t.reference_address = std::move(*address);
  t.stratum = net::ReadBe16(d, o + 24);
  t.leap_status = net::ReadBe16(d, o + 26);
  if (t.leap_status > 3) {
    return Error{"chrony tracking report with invalid leap status " +
                 std::to_string(t.leap_status)};
  }
  std::uint32_t sec_high = net::ReadBe32(d, o + 28);
  if (sec_high == kNoHighSeconds) {
    sec_high = 0;
  }
  const std::uint64_t sec = static_cast<std::uint64_t>(sec_high) << 32 | net::ReadBe32(d, o + 32);
  const std::uint32_t nsec = std::min<std::uint32_t>(net::ReadBe32(d, o + 36), 999'999'999);
  t.reference_time = static_cast<double>(sec) + nsec / 1e9;
  o += 40;
  const auto f = [&](int i) {
    return DecodeChronyFloat(net::ReadBe32(d, o + 4 * static_cast<std::size_t>(i)));
  };
  t.offset_seconds = f(0);
  t.last_offset_seconds = -f(1);
  t.rms_offset_seconds = f(2);
  t.frequency_ppm = f(3);
  t.residual_frequency_ppm = f(4);
  t.skew_ppm = f(5);
  t.root_delay_seconds = f(6);
  t.root_dispersion_seconds = f(7);
  t.update_interval_seconds = f(8);
  return t;
}

namespace {

// A UDP socket connected to chronyd's command port.
Result<net::Fd> ConnectChrony(const std::string& address) {
  auto hp = net::ParseHostPort(address, kChronyCommandPort);
  if (!hp) {
    return Error{"not an IP address with optional port: \"" + address + "\""};
  }
  auto fd = net::OpenSocket(hp->first.family(), SOCK_DGRAM, 0);
  if (!fd) {
    return fd.error();
  }
  sockaddr_storage to{};
  const socklen_t len = hp->first.ToSockaddr(hp->second, &to);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&to), len) != 0) {
    return Error{net::ErrnoText("connect " + address, errno)};
  }
  return std::move(*fd);
}

}  // namespace

Result<ChronyTracking> QueryChronyTracking(const std::string& address,
                                           std::chrono::milliseconds timeout, const Clock& clock) {
  auto fd = ConnectChrony(address);
  if (!fd) {
    return fd.error();
  }
  const std::uint32_t sequence = std::random_device{}();
  const auto start = clock.Monotonic();
  const auto deadline = start + timeout;
  const auto resend_at = start + timeout / 2;  // One more request halfway: UDP may lose one.
  std::uint16_t attempt = 0;
  std::string last_error =
      "no reply from chronyd at " + address + " within " + FormatTimeout(timeout);
  std::uint8_t buf[1024];
  const auto send = [&]() -> Result<bool> {
    const auto request = EncodeChronyTrackingRequest(sequence, attempt++);
    if (::send(fd->get(), request.data(), request.size(), 0) < 0) {
      if (errno == ECONNREFUSED) {  // The ICMP answer to the first request.
        return Error{"connection refused: no chronyd command port at " + address};
      }
      return Error{net::ErrnoText("send to chronyd at " + address, errno)};
    }
    return true;
  };
  for (auto sent = send(); clock.Monotonic() < deadline;) {
    if (!sent) {
      return sent.error();
    }
    if (attempt == 1 && clock.Monotonic() >= resend_at) {
      sent = send();
      continue;
    }
    pollfd pfd{fd->get(), POLLIN, 0};
    if (clock.Poll(&pfd, 1, attempt == 1 ? std::min(resend_at, deadline) : deadline) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd->get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ECONNREFUSED) {
        return Error{"connection refused: no chronyd command port at " + address};
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return Error{net::ErrnoText("recv from chronyd at " + address, errno)};
      }
      continue;
    }
    const net::Bytes reply(buf, static_cast<std::size_t>(n));
    auto t = DecodeChronyTrackingReply(reply, sequence);
    // An answer to our sequence number is final, even a refusal; anything else was stray.
    if (t.ok() || (reply.size() >= kReplyHeaderSize && net::ReadBe32(reply, 16) == sequence)) {
      return t;
    }
    last_error = t.error().message;
  }
  return Error{last_error};
}

}  // namespace cbe::probes
