#pragma once

// What one round of each probe found. Immutable once published: a scrape serialises the latest
// snapshot and never waits on BIRD or the network.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/base/compact_optional.h"
#include "exporter/base/short_string.h"
#include "exporter/config/config.h"
#include "exporter/intent/sessions.h"
#include "probes/bird/last_error.h"
#include "probes/bird/parser.h"
#include "probes/probe.h"

namespace cbe {

struct PeerSnapshot {
  // Text in 16 bytes each (base/short_string.h; the protocol name in 24: Calico's IPv4 names
  // fit), optional numbers in 8 (base/compact_optional.h) and the flags together: a round keeps
  // two vectors of these.
  NameString protocol;
  ShortString peer;            // The neighbour address.
  ShortString peer_type;       // node_mesh, node_specific, global, other.
  ShortString state;           // BGP state: Established, Active, ..., Down.
  ShortString protocol_state;  // BIRD's protocol state: up, start, down, ...
  ShortString neighbor_as;
  ShortString local_as;
  ShortString neighbor_router_id;
  ShortString source_address;  // This node's end (Established only).
  ShortString session;         // ibgp, ebgp or "".
  bool up = false;
  bool state_change_exact = true;
  // This round saw the session leave Established (down now, or restarted since the last round).
  bool left_established = false;
  OptionalDouble state_change_timestamp;
  bird::LastError last_error;
  OptionalDouble hold_time_seconds;
  OptionalDouble keepalive_time_seconds;
  bird::RouteCounts routes;
  std::uint64_t state_changes_total = 0;
  // The last BGP-level error ("BGP Error: ...", "Received: ...") since the session was last
  // Established: BIRD replaces it with socket errors while it retries.
  bird::LastError bgp_error;
  // BIRD 3: bytes queued to the peer (Established only), and the last value seen while the
  // session was Established (kept after it went down, for the diagnosis).
  OptionalCount tx_pending_bytes;
  OptionalCount tx_pending_when_last_up;
};

// Where this node's own BGP address lives: the router ID and the source address of the sessions.
struct LocalAddress {
  std::string address;
  bool found = false;  // An interface of this namespace holds it.
  std::string interface;
  std::string kind;  // rtnetlink link kind, "" for a NIC.
  bool loopback = false;
};

// Why this node's router ID, or the source address of its sessions of a family, cannot be right
// (the address itself, or the interface that holds it); "" where it may be. Once per daemon:
// Calico's sessions of a family share one source address.
struct NodeAddressProblems {
  std::string router_id;
  std::string source[2];  // IPv4, IPv6.
};

struct DaemonSnapshot {
  std::string daemon;  // The socket's file stem: bird, bird6.
  std::string socket;
  bool up = false;
  std::string error;  // Why the last query failed.
  std::string version;
  std::string router_id;
  std::optional<double> last_reboot_timestamp;
  std::optional<double> last_reconfiguration_timestamp;
  bool graceful_restart_recovery = false;
  std::string daemon_message;
  std::vector<PeerSnapshot> peers;
  // The router ID's and the sessions' source addresses' interfaces (looked up once a minute),
  // sorted by address, one each.
  std::vector<LocalAddress> local_addresses;
  // Found by the BIRD round, from the peers and local_addresses, when they change; the diagnosis
  // finds them itself when absent (a snapshot built by hand).
  std::optional<NodeAddressProblems> address_problems;
  // While BIRD is down: the sessions of its last good round, for the diagnosis only.
  std::vector<PeerSnapshot> last_known_peers;
  std::uint64_t unparsed_lines_total = 0;
  // Times a session left Established since the exporter started, by peer type (sessions that
  // went away keep their part: a counter never goes back).
  std::map<std::string, std::uint64_t> down_changes_total;
};

using probes::ProbeRun;

struct BirdSnapshot {
  std::vector<DaemonSnapshot> daemons;
  ProbeRun run;
};

// The config file as the daemon last (re)loaded it.
struct ConfigStatus {
  bool last_reload_successful = true;
  double last_reload_success_timestamp = 0;
  MetricsConfig metrics;  // The extra series the running config asks for.
};

// What the intent service says this node should run (the node exporter's intent client).
struct IntentSnapshot {
  // The last good answer, kept while the service cannot be asked; null before the first.
  std::shared_ptr<const std::vector<intent::Session>> sessions;
  bool up = false;                    // This round's request got an answer.
  std::string error;                  // Why not.
  double last_success_timestamp = 0;  // Unix time of the last answer (0: none yet).
  ProbeRun run;
};

struct PeerDiagnosis;
struct DiagnosisSnapshot;

// Each part is null until its first round finished (or when the probe is disabled).
struct Snapshot {
  std::shared_ptr<const BirdSnapshot> bird;
  // The probers' results (probes/probe.h), by their index in probes::Probers().
  std::vector<std::shared_ptr<const probes::ProbeResult>> probes;
  std::shared_ptr<const IntentSnapshot> intent;
  std::shared_ptr<const ConfigStatus> config;
  // Derived from the parts above each time one of them changes.
  std::shared_ptr<const DiagnosisSnapshot> diagnosis;
  // The result of prober `i` (null: none).
  const probes::ProbeResult* probe(std::size_t i) const {
    return i < probes.size() ? probes[i].get() : nullptr;
  }
  // The result of the prober `T::kProbe` (e.g. probes::TcpSnapshot), by type.
  template <typename T>
  const T* Probe() const {
    return static_cast<const T*>(probe(probes::ProberIndex(T::kProbe)));
  }
  void SetProbe(std::size_t i, std::shared_ptr<const probes::ProbeResult> result) {
    if (probes.size() <= i) {
      probes.resize(i + 1);
    }
    probes[i] = std::move(result);
  }
  template <typename T>
  void SetProbe(std::shared_ptr<const T> result) {
    SetProbe(probes::ProberIndex(T::kProbe), std::move(result));
  }

  // Counts publications: a reader tells a new snapshot from the one it saw without holding
  // the old one (and its memory) alive.
  std::uint64_t generation = 0;
};

// Holds the latest snapshot. Producers publish their part; readers get an immutable copy.
class SnapshotStore {
 public:
  // Computes derived parts (the diagnosis) of a new snapshot before it is published.
  using Deriver = std::function<void(Snapshot*)>;

  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}
  void SetDeriver(Deriver deriver) {
    std::lock_guard lock(mu_);
    deriver_ = std::move(deriver);
  }

  std::shared_ptr<const Snapshot> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  // Removes one part (a probe that was disabled).
  template <typename T>
  void Clear(std::shared_ptr<const T> Snapshot::*part) {
    Publish(part, std::shared_ptr<const T>());
  }

  // Replaces one part, e.g. Publish(&Snapshot::bird, result).
  template <typename T>
  void Publish(std::shared_ptr<const T> Snapshot::*part, std::shared_ptr<const T> value) {
    Update([&](Snapshot* next) { (*next).*part = std::move(value); });
  }
  // Replaces the result of prober `i` (null: removes it).
  void PublishProbe(std::size_t i, std::shared_ptr<const probes::ProbeResult> result) {
    Update([&](Snapshot* next) { next->SetProbe(i, std::move(result)); });
  }
  template <typename T>
  void PublishProbe(std::shared_ptr<const T> result) {
    PublishProbe(probes::ProberIndex(T::kProbe), std::move(result));
  }

 private:
  template <typename F>
  void Update(F change) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<Snapshot>(*current_);
    change(next.get());
    next->generation = current_->generation + 1;
    if (deriver_) {
      deriver_(next.get());
    }
    current_ = std::move(next);
  }

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;
  Deriver deriver_;
};

}  // namespace cbe
