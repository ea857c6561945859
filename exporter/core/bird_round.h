#pragma once

// One round over every BIRD control socket: query, parse, resolve times, track state.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/recycler.h"
#include "exporter/config/config.h"
#include "exporter/core/snapshot.h"
#include "probes/bird/client.h"
#include "probes/bird/last_error.h"
#include "probes/bird/state_tracker.h"
#include "probes/net/route.h"
#include "probes/net/stream.h"

namespace cbe {

// Builds a daemon's snapshot protocol by protocol, as the reply is parsed (pure but for the
// tracker's memory). The state changes are resolved at Finish(), against BIRD's clock: `show
// status` is read after the protocols.
class DaemonSnapshotBuilder {
 public:
  // Starts a reply over: what was added is dropped. The peers go to `buffer` (a recycled
  // round's, emptied); the builder's own buffers keep their capacity from round to round.
  void Start(std::size_t expected_peers, std::vector<PeerSnapshot> buffer = {});
  // A protocol of `show protocols all`; those that are not BGP are left out.
  void Add(bird::Protocol&& p);
  // The snapshot of the protocols added. Call once after Start().
  DaemonSnapshot Finish(const std::string& socket, const bird::Status& status,
                        std::chrono::system_clock::time_point observed,
                        bird::StateTracker* tracker);

 private:
  // The last conversions of a text, kept for the next protocol: most sessions in a row share
  // their AS numbers and their last error (every refused one "Socket: Connection refused"),
  // converted once instead of once per session.
  struct Memo {
    std::optional<std::uint32_t> as;
    ShortString as_text;
    std::string error_text;
    bird::LastError error;
  };
  // One BGP protocol as the snapshot shows it, but for what needs BIRD's clock and the
  // tracker: written into `peer`, a new element of the round's vector (no copy of 336 bytes per
  // session).
  void Take(const bird::Protocol& p, PeerSnapshot& peer);

  // What a peer's state change needs until BIRD's clock is known. 48 bytes, nothing on the
  // heap for BIRD's time formats: the builder keeps room for one per peer between rounds.
  struct Pending {
    ShortString since_text;
    std::optional<bird::BirdTime> since;
    OptionalCount tx_pending_bytes;  // Also while not Established.
  };
  // The peer's state change, resolved and remembered by the tracker; logged once.
  static void Track(PeerSnapshot* peer, const Pending& pending, const bird::Status& status,
                    std::chrono::system_clock::time_point observed, const std::string& daemon,
                    bird::StateTracker* tracker);

  std::vector<PeerSnapshot> peers_;
  std::vector<Pending> pending_;  // One per peer, in the same order.
  Memo memo_;
};

class BirdRound {
 public:
  // Which interface holds each of a round's new local addresses, in one call
  // (net::InterfacesHolding; tests inject their own).
  using InterfaceLookup = std::function<std::vector<Result<std::optional<net::LocalInterface>>>(
      std::span<const net::IpAddress>)>;

  BirdRound(BirdConfig config, net::StreamConnector* connector, const Clock* clock,
            InterfaceLookup lookup = net::InterfacesHolding);

  // Queries every socket once, in order. Never throws; failures become `up = false`.
  std::shared_ptr<const BirdSnapshot> Run();

  // A reloaded config: connections are reopened with the new deadlines and cap; what the rounds
  // remember of each session stays.
  void Reconfigure(BirdConfig config);

 private:
  struct Daemon {
    std::unique_ptr<bird::Client> client;
    bird::StateTracker tracker;
    std::uint64_t unparsed_total = 0;
    std::map<std::string, std::uint64_t> down_changes;  // By peer type, since the start.
    std::optional<bool> last_up;                        // For logging transitions once.
    std::string last_error;
    std::string last_timeformat_error;  // Logged once.
    std::size_t peers_seen = 0;         // In the last reply: the next one's vectors are sized once.
    DaemonSnapshotBuilder builder;      // Kept: its buffers serve every round.
    // address_cache_time_ when this daemon's last local addresses were read from the cache.
    std::chrono::steady_clock::time_point addresses_read_at;
  };

  // `previous`: this socket's entry in the last round's snapshot, if it had one.
  DaemonSnapshot Query(const std::string& socket, Daemon* d, const DaemonSnapshot* previous);
  // `show status` and `show protocols all`, parsed into the daemon's snapshot, or why not.
  Result<DaemonSnapshot> QueryAndParse(const std::string& socket, Daemon* d,
                                       const DaemonSnapshot* previous);
  // The snapshot's local_addresses, the interfaces of its router ID and source addresses,
  // from a cache refreshed once a minute (an address rarely moves; a netlink walk per round
  // would cost every round), and its address_problems.
  void AddLocalAddresses(DaemonSnapshot* snap, Daemon* d, const DaemonSnapshot* previous);
  // Adds the addresses of `wanted` the cache does not hold yet, looked up in one call (one walk
  // of the interfaces, however many addresses there are).
  void CacheInterfaces(const std::set<std::string_view>& wanted);
  bird::Client* ClientFor(const std::string& socket, Daemon* d);

  BirdConfig config_;
  net::StreamConnector* connector_;
  const Clock* clock_;
  InterfaceLookup lookup_;
  std::map<std::string, LocalAddress, std::less<>> address_cache_;
  std::chrono::steady_clock::time_point address_cache_time_;
  std::map<std::string, Daemon> daemons_;  // By socket path.
  std::set<std::string> seen_sockets_;     // Detected sockets that answered once.
  // The last round's snapshot (the one published, not a copy): the peers a daemon had before
  // it went down come from here.
  std::shared_ptr<const BirdSnapshot> last_;
  // The peers' vectors of the snapshots no one reads any more, for the next rounds to fill
  // (shared with the snapshots, which give them back when released).
  std::shared_ptr<VectorRecycler<PeerSnapshot>> peer_buffers_ =
      std::make_shared<VectorRecycler<PeerSnapshot>>(4);
};

// Builds a daemon's snapshot from parsed replies (pure but for the tracker's memory).
DaemonSnapshot BuildDaemonSnapshot(const std::string& socket, const bird::Status& status,
                                   const bird::Protocols& protocols,
                                   std::chrono::system_clock::time_point observed,
                                   bird::StateTracker* tracker);

}  // namespace cbe
