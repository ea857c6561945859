#pragma once

// One cause per BGP session from the evidence of one round: the "BGP peer down" runbook,
// automated. A pure function with a fixed precedence (docs/runbook.md, "Causes"): a cause is
// named only when the evidence supports it, and `unknown` is better than a wrong guess.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/recycler.h"
#include "exporter/base/short_string.h"
#include "exporter/core/snapshot.h"
#include "exporter/intent/diff.h"
#include "probes/bird/last_error.h"
#include "probes/peer_result.h"

namespace cbe {

enum class Cause {
  kHealthy,
  kBirdDown,
  kAdminDown,
  kSessionMissing,
  kUnexpectedSession,
  kAsMismatch,
  kRouterIdConflict,
  kHoldTimerExpiredMtu,
  kHoldTimerExpired,
  kPeerUnreachable,
  kPortFiltered,
  kPortClosed,
  kLocalNotListening,
  kListenSocket,
  kNoRoutes,
  kNodeAddress,
  kClockSkew,
  kNegotiating,
  kUnknown,
};

std::string_view CauseName(Cause cause);  // healthy, bird_down, admin_down, ...
std::string_view NextStep(Cause cause);   // One line for a person at 3 a.m.
const std::vector<Cause>& AllCauses();

inline constexpr std::string_view kHoldersHidden = "?";
inline constexpr std::string_view kHoldersNone = "-";

// What one round knows about one session. Absent optionals mean "not measured".
// Its texts of BIRD's states are views into the snapshot being diagnosed (or literals): an
// Evidence lives for one derivation of one session.
struct Evidence {
  bool bird_up = true;
  std::string_view protocol_state;  // BIRD's: up, start, stop, down, feed.
  std::string_view bgp_state;       // Established, Active, ..., Down.
  bird::LastError last_error;       // BIRD's last error, e.g. "Socket: Connection refused".
  bird::LastError bgp_error;  // The last BGP-level error ("BGP Error: ...", "Received: ...") since
                              // the session was last Established: it outlives socket errors.
  std::optional<double> state_age_seconds;
  std::string_view peer_type;                    // node_mesh, node_specific, global, other.
  std::optional<std::uint64_t> routes_imported;  // Only while Established.
  std::optional<std::uint64_t> routes_exported;
  // BIRD 3: bytes that were queued to the peer the last time the session was Established.
  std::optional<std::uint64_t> tx_pending_when_last_up;
  int port_number = 179;  // The BGP port the probes and the evidence text use.
  // The intent service's answer says Calico no longer asks for this session.
  bool unexpected = false;
  std::string unexpected_detail;
  // Why this node's router ID (Calico: its BGP address) cannot be right; "" when it can.
  std::string node_address_problem;
  std::optional<probes::PortState> port;
  std::string port_reason;
  std::optional<double> icmp_loss_ratio;
  std::optional<int> interface_mtu;
  std::optional<int> path_mtu;
  std::optional<bool> local_listener;  // For the peer's address family.
  // Who holds the BGP port's listening sockets, e.g. "gobgpd (pid 4242)", looked up only when
  // BIRD has no listening socket: "" when not looked up, kHoldersHidden when a socket listens
  // but its process cannot be seen from here, kHoldersNone when nothing listens.
  std::string listener_holders;
  std::optional<double> peer_clock_offset_seconds;
  std::optional<double> ntp_offset_seconds;  // The largest measured |offset| to NTP/chrony.
  double max_clock_offset_seconds = 0.1;
  double negotiating_window_seconds = 60;
  double no_routes_after_seconds = 600;
  bool no_routes_applies =
      true;  // The session's peer type is one diagnosis.no_routes_peer_types lists.
};

struct Diagnosis {
  Cause cause = Cause::kUnknown;
  std::string evidence;  // The facts that led there, for `check` and the landing page.
};

Diagnosis Diagnose(const Evidence& e);

struct PeerDiagnosis {
  // Text in 16 bytes each (base/short_string.h), the time in 8 (base/compact_optional.h): the
  // store keeps two vectors of these.
  ShortString daemon;
  NameString protocol;
  ShortString peer;
  ShortString peer_type;
  ShortString state;
  OptionalDouble state_change_timestamp;
  ShortString last_error;
  Diagnosis diagnosis;
};

// BIRD's sessions against what Calico asks for (the intent client's last answer).
struct IntentComparison {
  std::size_t expected = 0;  // Sessions Calico asks for on this node.
  std::vector<intent::SessionDiff> diffs;
  // Each diff's daemon (bird, bird6), by index: where a missing session would run.
  std::vector<std::string> daemons;
};

struct DiagnosisSnapshot {
  // Every BIRD session, and a row for each session Calico asks for that BIRD does not run.
  std::vector<PeerDiagnosis> peers;
  // Null without an intent answer, or while a BIRD daemon is down (nothing to compare).
  std::shared_ptr<const IntentComparison> intent;
};

struct DiagnosisOptions {
  double max_clock_offset_seconds = 0.1;
  double negotiating_window_seconds = 60;
  // A mesh session Established this long with no route in either direction is `no_routes`.
  double no_routes_after_seconds = 600;
  std::vector<std::string> no_routes_peer_types{"node_mesh"};
  int port_number = 179;
};

struct Config;
DiagnosisOptions DiagnosisOptionsFor(const Config& config);

// What is wrong with the daemon's router ID and its sessions' source addresses (snapshot.h),
// from its peers and local_addresses.
NodeAddressProblems FindNodeAddressProblems(const DaemonSnapshot& d);

// BIRD's sessions against the intent answer, or null (no answer, or a BIRD daemon is down).
std::shared_ptr<const IntentComparison> CompareWithIntent(const Snapshot& snapshot);

// Every BGP session of the snapshot (and the last known ones of a BIRD that is down); with a
// comparison, a row per missing session and `unexpected_session` for a failing session that
// Calico no longer asks for.
// `buffer`: where the rows go (emptied first; a recycled derivation's).
std::vector<PeerDiagnosis> DiagnoseSnapshot(const Snapshot& snapshot,
                                            const DiagnosisOptions& options, double now_unix,
                                            const IntentComparison* intent = nullptr,
                                            std::vector<PeerDiagnosis> buffer = {});

// Both, as the store's deriver publishes them. With `buffers`, the rows go to a vector taken
// there, which the diagnosis gives back when its last reader lets go of it (the store derives
// a diagnosis on every publication: each probe round's too).
std::shared_ptr<DiagnosisSnapshot> DeriveDiagnosis(
    const Snapshot& snapshot, const DiagnosisOptions& options, double now_unix,
    const std::shared_ptr<VectorRecycler<PeerDiagnosis>>& buffers = nullptr);

}  // namespace cbe
