#pragma once

// chronyd's command protocol, version 6 (what `chronyc tracking` speaks over UDP, port 323 on
// localhost): a pure encoder of the REQ_TRACKING request, a pure decoder of the tracking report
// and one IO function. Written from chrony's candm.h, pktlength.c and util.c (layouts only).
//
// Request: a 20-byte header (version 6, packet type 1, two reserved bytes, command 33, attempt,
// sequence, two pad words) followed by 84 zero bytes: since version 6 a request must be as long
// as its reply, so that chronyd cannot be used to amplify traffic; a shorter one is dropped
// without an answer.
// Reply: a 28-byte header (version, packet type 2, reserved, command, reply type, status, three
// pad halfwords, sequence, two pad words) and the 76-byte tracking report (reply type 5):
//   ref_id u32, ip_addr (16 address bytes, family u16, pad u16), stratum u16, leap_status u16,
//   ref_time (sec_high u32, sec_low u32, nsec u32), then nine of chrony's 32-bit floats:
//   current_correction, last_offset, rms_offset, freq_ppm, resid_freq_ppm, skew_ppm,
//   root_delay, root_dispersion, last_update_interval.
// All integers are big-endian.
//
// Signs, converted to this exporter's convention (offset = reference clock minus this node's
// clock, positive when the reference is ahead):
// - current_correction is what chronyc prints as "System time": positive means the system clock
//   is slow of NTP time ("slow"), i.e. NTP time minus system time. offset_seconds = +it.
// - last_offset is positive when the local clock was ahead of the sources (chronyc(1)), i.e.
//   this node minus the reference. last_offset_seconds = -it.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/net/packet.h"

namespace cbe::probes {

inline constexpr std::uint16_t kChronyCommandPort = 323;
inline constexpr std::uint8_t kChronyProtocolVersion = 6;
inline constexpr std::size_t kChronyTrackingRequestSize = 104;
inline constexpr std::size_t kChronyTrackingReplySize = 104;

// `attempt` counts resends of the same sequence number, from 0.
std::vector<std::uint8_t> EncodeChronyTrackingRequest(std::uint32_t sequence,
                                                      std::uint16_t attempt);

// chrony's 32-bit float (network order already converted to host order): a 7-bit signed
// exponent above a 25-bit signed coefficient without hidden bit; value = coef * 2^(exp - 25).
double DecodeChronyFloat(std::uint32_t raw);

// 0 normal, 1 insert second, 2 delete second, 3 not synchronised: "normal", "insert_second",
// "delete_second", "unsynchronised" ("unknown" otherwise).
std::string_view ChronyLeapName(int leap_status);

struct ChronyTracking {
  std::uint32_t reference_id = 0;  // 7F7F0101: local reference mode.
  std::string reference_id_hex;    // As chronyc prints it: "7F000001".
  std::string reference_address;   // The source's IP address; "" when none.
  int stratum = 0;
  int leap_status = 0;
  double reference_time = 0;       // Unix seconds of the last update; 0 when never.
  double offset_seconds = 0;       // Reference minus this node (= current_correction, see above).
  double last_offset_seconds = 0;  // Reference minus this node at the last update (= -last_offset).
  double rms_offset_seconds = 0;
  double frequency_ppm = 0;  // As chrony reports it (chronyc prints positive values as "fast").
  double residual_frequency_ppm = 0;
  double skew_ppm = 0;
  double root_delay_seconds = 0;
  double root_dispersion_seconds = 0;
  double update_interval_seconds = 0;
};

// Checks and decodes a reply to the request with `sequence`. Errors say what was wrong: a
// truncated packet, another protocol version, chronyd's refusal (its status code named), a reply
// to another request or of another type. Never throws, whatever the bytes.
Result<ChronyTracking> DecodeChronyTrackingReply(net::Bytes reply, std::uint32_t sequence);

// Sends REQ_TRACKING to `address` ("127.0.0.1:323", "[::1]:323"; port 323 when absent; IP
// literals only) and waits for the reply until `timeout`, resending once at half-time.
Result<ChronyTracking> QueryChronyTracking(const std::string& address,
                                           std::chrono::milliseconds timeout, const Clock& clock);

}  // namespace cbe::probes
