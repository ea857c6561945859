#pragma once

// Pure parsers of BIRD control-socket replies: text in, structs out. No IO, clock or logging.
// They run on the bytes of one complete reply (see bird_framing.h), greeting excluded.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/compact_optional.h"
#include "exporter/base/result.h"
#include "exporter/base/short_string.h"
#include "probes/bird/bird_time.h"
#include "probes/bird/framing.h"

namespace cbe::bird {

// Lines a parser did not understand: counted, never dropped silently.
struct Unparsed {
  std::uint64_t lines = 0;
  std::string first;  // The first such line, for the log.

  void Add(std::string_view line);
};

// `show status`.
struct Status {
  std::string version;  // "1.6.8", "2.0.12", "v0.3.3+birdv1.6.8" (Calico's fork).
  std::string router_id;
  std::string hostname;  // BIRD 2 only.
  std::optional<BirdTime> server_time;
  std::optional<BirdTime> last_reboot;
  std::optional<BirdTime> last_reconfiguration;
  std::string last_reboot_text;
  std::string last_reconfiguration_text;
  bool graceful_restart_recovery = false;
  bool daemon_up = false;      // 0013 "Daemon is up and running".
  std::string daemon_message;  // The final line, e.g. "Shutdown in progress".
  Unparsed unparsed;
};

Result<Status> ParseShowStatus(std::string_view reply);

// Calico names its BGP protocols after the kind of peer.
enum class PeerType { kNodeMesh, kNodeSpecific, kGlobal, kOther };
PeerType PeerTypeFromName(std::string_view protocol_name);
std::string_view PeerTypeName(PeerType type);  // node_mesh, node_specific, global, other.

// 8 bytes a count (base/compact_optional.h): a round's snapshot holds two of these per session.
struct RouteCounts {
  OptionalCount imported;
  OptionalCount filtered;
  OptionalCount exported;
  OptionalCount preferred;
};

// One protocol of `show protocols [all]`. BGP fields stay empty for other protocols. The short
// texts in 16 bytes (the name in 24; base/short_string.h): written once per protocol per round,
// and copied as they are into the round's snapshot.
struct Protocol {
  NameString name;
  ShortString proto;  // "BGP", "Kernel", "Device", ...
  ShortString table;
  ShortString state;  // Protocol state: up, start, stop, down, flush.
  ShortString since_text;
  std::optional<BirdTime> since;
  std::string info;  // The rest of the row, trimmed.

  ShortString bgp_state;  // Idle, Connect, Active, OpenSent, OpenConfirm, Established, Close,
                          // Passive, Down.
  ShortString neighbor_address;
  std::optional<std::uint32_t> neighbor_as;
  std::optional<std::uint32_t> local_as;  // BIRD 2 and later print it; BIRD 1.6 does not.
  ShortString neighbor_id;
  ShortString source_address;            // This node's end of the session (Established only).
  std::string session;                   // "internal multihop AS4 ..." (Established only).
  std::optional<double> hold_time;       // Negotiated, seconds (the "/240" of "Hold timer").
  std::optional<double> keepalive_time;  // Negotiated, seconds.
  std::string last_error;  // "BGP Error: Bad peer AS", "Socket: Connection refused", ...
  RouteCounts routes;      // Summed over channels (BIRD 2 and later).
  // BIRD 3 only: bytes queued to the peer's socket (Established), and prefixes waiting to be
  // sent, summed over channels. Lasting TX pending is a sender that cannot get rid of its data.
  std::optional<std::uint64_t> tx_pending_bytes;
  OptionalCount pending_prefixes;

  bool is_bgp() const { return proto == "BGP"; }
  bool established() const { return bgp_state == "Established"; }
};

struct Protocols {
  std::vector<Protocol> protocols;
  Unparsed unparsed;
};

// `show protocols` or `show protocols all` (BIRD 1.6, Calico's fork, 2.x, 3.x).
Result<Protocols> ParseShowProtocols(std::string_view reply);

// Takes each protocol of a reply once all its lines were read.
using ProtocolSink = std::function<void(Protocol&&)>;

// The same parser fed line by line, as the reply arrives (bird::Client::QueryLines): the reply
// is never held whole. Feed the lines of one complete reply, then Finish().
class ShowProtocolsParser {
 public:
  // Finish() returns the protocols (room for `expected_protocols` is made at once)...
  explicit ShowProtocolsParser(std::size_t expected_protocols = 0);
  // ...or hands each one to `sink` as soon as it is complete (the last at Finish(), which then
  // returns no protocols): the protocols of a reply are never held all at once. After an error
  // reply, the protocols handed out before it are all there is.
  explicit ShowProtocolsParser(ProtocolSink sink);
  ~ShowProtocolsParser();
  ShowProtocolsParser(const ShowProtocolsParser&) = delete;
  ShowProtocolsParser& operator=(const ShowProtocolsParser&) = delete;

  void Add(const ReplyLine& line);
  // The protocols, or the error of an error reply (8xxx/9xxx). Call once.
  Result<Protocols> Finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The detail keys of `show protocols all` that carry nothing the exporter reports but are
// understood (not counted as unparsed), e.g. "Preference", "Input filter".
std::span<const std::string_view> KnownDetailKeys();

// "ibgp" or "ebgp" from the Session line, else from the AS numbers, else "".
std::string_view SessionKind(const Protocol& p);

}  // namespace cbe::bird
