#include "exporter/core/bird_round.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "exporter/base/logging.h"
#include "exporter/core/diagnosis.h"

namespace cbe {
namespace {

ShortString AsString(const std::optional<std::uint32_t>& v) {
  if (!v) {
    return {};
  }
  char digits[10];  // Room for 4294967295: to_chars cannot fail here.
  const char* end = std::to_chars(digits, digits + sizeof digits, *v).ptr;
  return std::string_view(digits, static_cast<std::size_t>(end - digits));
}

// Exported states are BIRD's BGP states. Anything else is reported as "Unknown" to keep the
// label's values bounded.
std::string_view StateLabel(std::string_view bgp_state) {
  static constexpr std::string_view kStates[] = {"Idle",     "Connect",     "Active",
                                                 "OpenSent", "OpenConfirm", "Established",
                                                 "Close",    "Passive",     "Down"};
  for (std::string_view s : kStates) {
    if (bgp_state == s) {
      return s;
    }
  }
  return "Unknown";
}

}  // namespace

void DaemonSnapshotBuilder::Take(const bird::Protocol& p, PeerSnapshot& peer) {
  peer.up = p.established();
  peer.peer_type = bird::PeerTypeName(bird::PeerTypeFromName(p.name));
  peer.state = StateLabel(p.bgp_state);
  const auto as_text = [this](const std::optional<std::uint32_t>& as) {
    if (as != memo_.as) {
      memo_.as = as;
      memo_.as_text = AsString(as);
    }
    return memo_.as_text;
  };
  peer.neighbor_as = as_text(p.neighbor_as);
  peer.local_as = as_text(p.local_as);
  peer.session = bird::SessionKind(p);
  if (p.last_error != memo_.error_text) {
    memo_.error_text = p.last_error;
    memo_.error = bird::ClassifyLastError(p.last_error);
  }
  peer.last_error = memo_.error;
  if (peer.up) {
    peer.hold_time_seconds = p.hold_time;
    peer.keepalive_time_seconds = p.keepalive_time;
    peer.tx_pending_bytes = p.tx_pending_bytes;
  }
  peer.routes = p.routes;
  peer.protocol = p.name;
  peer.peer = p.neighbor_address;
  peer.protocol_state = p.state;
  peer.neighbor_router_id = p.neighbor_id;
  peer.source_address = p.source_address;
}

void DaemonSnapshotBuilder::Start(std::size_t expected_peers, std::vector<PeerSnapshot> buffer) {
  peers_ = std::move(buffer);
  peers_.clear();
  peers_.reserve(expected_peers);
  pending_.clear();
  pending_.reserve(expected_peers);
}

void DaemonSnapshotBuilder::Add(bird::Protocol&& p) {
  if (!p.is_bgp()) {
    return;
  }
  Take(p, peers_.emplace_back());
  // Copied, not moved: the parser reuses the protocol's strings for its next row.
  pending_.push_back({p.since_text, p.since, p.tx_pending_bytes});
}

void DaemonSnapshotBuilder::Track(PeerSnapshot* peer, const Pending& pending,
                                  const bird::Status& status,
                                  std::chrono::system_clock::time_point observed,
                                  const std::string& daemon, bird::StateTracker* tracker) {
  std::optional<bird::ResolvedTime> since;
  if (pending.since && status.server_time) {
    since = bird::ResolveBirdTime(*pending.since, *status.server_time, observed);
  }
  bird::StateTracker::SessionObservation session =
      tracker->ObserveSession(peer->protocol, peer->state, pending.since_text, since, peer->up,
                              peer->last_error, pending.tx_pending_bytes);
  const bird::StateTracker::Observation& obs = session.observation;
  peer->state_change_timestamp = obs.state_change_timestamp;
  peer->state_change_exact = obs.timestamp_exact;
  peer->state_changes_total = obs.changes;
  // Down now, or Established again with a new start time: it went down between two rounds.
  peer->left_established = obs.changed && obs.previous_state == "Established";
  peer->bgp_error = std::move(session.bgp_error);
  peer->tx_pending_when_last_up = session.tx_pending_when_last_up;
  if (obs.changed && obs.previous_state != peer->state) {
    logging::Info("BGP session changed state", {{"daemon", daemon},
                                                {"protocol", peer->protocol.str()},
                                                {"peer", peer->peer.str()},
                                                {"from", obs.previous_state},
                                                {"to", peer->state.str()},
                                                {"last_error", peer->last_error.Text()}});
  } else if (obs.changed) {
    logging::Info(
        "BGP session restarted between two rounds",
        {{"daemon", daemon}, {"protocol", peer->protocol.str()}, {"peer", peer->peer.str()}});
  }
}

DaemonSnapshot DaemonSnapshotBuilder::Finish(const std::string& socket, const bird::Status& status,
                                             std::chrono::system_clock::time_point observed,
                                             bird::StateTracker* tracker) {
  DaemonSnapshot d;
  d.daemon = DaemonName(socket);
  d.socket = socket;
  d.up = true;
  d.version = status.version;
  d.router_id = status.router_id;
  d.graceful_restart_recovery = status.graceful_restart_recovery;
  d.daemon_message = status.daemon_message;
  tracker->BeginRound();
  // Reboot and reconfiguration times go through the tracker too, so that BIRD 1.6's whole
  // seconds do not jitter between rounds. Their keys cannot clash with protocol names.
  const auto stable_time = [&](const char* key, const std::optional<bird::BirdTime>& t,
                               std::string_view text) -> std::optional<double> {
    if (!t || !status.server_time) {
      return std::nullopt;
    }
    return tracker->Observe(key, "", text, bird::ResolveBirdTime(*t, *status.server_time, observed))
        .state_change_timestamp;
  };
  d.last_reboot_timestamp =
      stable_time(" last reboot", status.last_reboot, status.last_reboot_text);
  d.last_reconfiguration_timestamp = stable_time(
      " last reconfiguration", status.last_reconfiguration, status.last_reconfiguration_text);

  for (std::size_t i = 0; i < peers_.size(); ++i) {
    Track(&peers_[i], pending_[i], status, observed, d.daemon, tracker);
  }
  tracker->ForgetUnobserved();
  d.peers = std::move(peers_);
  peers_.clear();
  pending_.clear();
  return d;
}

DaemonSnapshot BuildDaemonSnapshot(const std::string& socket, const bird::Status& status,
                                   const bird::Protocols& protocols,
                                   std::chrono::system_clock::time_point observed,
                                   bird::StateTracker* tracker) {
  DaemonSnapshotBuilder builder;
  builder.Start(protocols.protocols.size());
  for (const bird::Protocol& p : protocols.protocols) {
    builder.Add(bird::Protocol(p));
  }
  return builder.Finish(socket, status, observed, tracker);
}

BirdRound::BirdRound(BirdConfig config, net::StreamConnector* connector, const Clock* clock,
                     InterfaceLookup lookup)
    : config_(std::move(config)),
      connector_(connector),
      clock_(clock),
      lookup_(std::move(lookup)) {}

void BirdRound::CacheInterfaces(const std::set<std::string_view>& wanted) {
  // The entries added for the addresses the cache does not hold yet (a map's entries stay
  // put), and those of them that parse as an address (one that does not is held by none).
  std::vector<net::IpAddress> ips;
  std::vector<LocalAddress*> asked;
  for (const std::string_view address : wanted) {
    if (address_cache_.find(address) != address_cache_.end()) {
      continue;
    }
    const auto it = address_cache_.emplace(std::string(address), LocalAddress()).first;
    it->second.address = it->first;
    if (const auto ip = net::IpAddress::Parse(address)) {
      ips.push_back(*ip);
      asked.push_back(&it->second);
    }
  }
  if (ips.empty()) {
    return;
  }
  const auto found = lookup_(ips);
  for (std::size_t i = 0; i < asked.size() && i < found.size(); ++i) {
    LocalAddress& a = *asked[i];
    if (!found[i]) {
      logging::Debug("interface of a local address",
                     {{"address", a.address}, {"err", found[i].error().message}});
    } else if (const std::optional<net::LocalInterface>& held = *found[i]; held) {
      a.found = true;
      a.interface = held->name;
      a.kind = held->kind;
      a.loopback = held->loopback;
    }
  }
}

void BirdRound::AddLocalAddresses(DaemonSnapshot* snap, Daemon* d, const DaemonSnapshot* previous) {
  constexpr auto kRefresh = std::chrono::minutes(1);
  const auto now = clock_->Monotonic();
  if (now - address_cache_time_ >= kRefresh) {
    address_cache_.clear();
    address_cache_time_ = now;
  }
  // The last round's answer while its router ID and source addresses (in order) and the cache
  // it was read from are the same: the usual round, they change only with a session's state.
  const auto same_sources = [&] {
    if (previous->peers.size() != snap->peers.size()) {
      return false;
    }
    for (std::size_t i = 0; i < snap->peers.size(); ++i) {
      if (!(previous->peers[i].source_address == snap->peers[i].source_address)) {
        return false;
      }
    }
    return true;
  };
  if (previous != nullptr && previous->up && previous->address_problems &&
      d->addresses_read_at == address_cache_time_ && previous->router_id == snap->router_id &&
      same_sources()) {
    snap->local_addresses = previous->local_addresses;
    snap->address_problems = previous->address_problems;
    return;
  }
  d->addresses_read_at = address_cache_time_;
  // Sorted and unique (DaemonSnapshot::local_addresses is searched by address). Calico's
  // sessions share one source address per family; a lab may give each its own.
  std::set<std::string_view> wanted = {snap->router_id};
  std::string_view last;  // Most sessions in a row share it: one set insertion for them.
  for (const PeerSnapshot& p : snap->peers) {
    if (!p.source_address.empty() && p.source_address != last) {
      wanted.insert(p.source_address);
      last = p.source_address;
    }
  }
  CacheInterfaces(wanted);
  std::vector<LocalAddress>& out = snap->local_addresses;
  out.clear();
  out.reserve(wanted.size());
  for (const std::string_view address : wanted) {
    out.push_back(address_cache_.find(address)->second);
  }
  snap->address_problems = FindNodeAddressProblems(*snap);
}

bird::Client* BirdRound::ClientFor(const std::string& socket, Daemon* d) {
  if (!d->client) {
    bird::ClientOptions opts;
    opts.socket_path = socket;
    opts.timeout = config_.timeout;
    opts.max_reply_bytes = config_.max_reply_bytes;
    d->client = std::make_unique<bird::Client>(std::move(opts), connector_, clock_);
  }
  return d->client.get();
}

Result<DaemonSnapshot> BirdRound::QueryAndParse(const std::string& socket, Daemon* d,
                                                const DaemonSnapshot* previous) {
  bird::Client* client = ClientFor(socket, d);
  // Parsed line by line as BIRD writes it (~1 MB at 1000 peers, never held whole); each
  // protocol becomes its part of the snapshot as soon as its lines are read, in the peers'
  // vector of the round before last.
  DaemonSnapshotBuilder& builder = d->builder;
  builder.Start(d->peers_seen, peer_buffers_->Take(d->peers_seen));
  bird::ShowProtocolsParser parser([&builder](bird::Protocol&& p) { builder.Add(std::move(p)); });
  // BIRD's clock (show status) read after the protocols: every "since" of the reply is older
  // than it. Read first, a session that changed state while a slow round read the protocols
  // would have a time of day later than BIRD's clock (by more than BIRD 1.6's second of
  // rounding), and be taken for yesterday's. Both commands go in one write: BIRD answers the
  // second once the first's reply is written, and the round saves a round trip.
  auto status_reply = client->QueryLinesThen(
      "show protocols all", [&parser](const bird::ReplyLine& line) { parser.Add(line); },
      "show status");
  if (!status_reply) {
    return status_reply.error();
  }
  const auto observed = clock_->Now();
  auto status = bird::ParseShowStatus(*status_reply);
  if (!status) {
    return Error{"show status: " + status.error().message};
  }
  auto protocols = parser.Finish();
  if (!protocols) {
    return Error{"show protocols all: " + protocols.error().message};
  }
  const std::uint64_t unparsed = status->unparsed.lines + protocols->unparsed.lines;
  if (unparsed > 0) {
    const std::string& first =
        status->unparsed.lines > 0 ? status->unparsed.first : protocols->unparsed.first;
    logging::Debug(
        "BIRD reply has lines the exporter does not understand",
        {{"daemon", DaemonName(socket)}, {"lines", std::to_string(unparsed)}, {"first", first}});
  }
  d->unparsed_total += unparsed;
  if (client->unix_times_error() != d->last_timeformat_error &&
      !client->unix_times_error().empty()) {
    logging::Warn(
        "BIRD times read in its own format: dates of changes older than 20 h are estimates",
        {{"daemon", DaemonName(socket)}, {"err", client->unix_times_error()}});
  }
  d->last_timeformat_error = client->unix_times_error();
  DaemonSnapshot snap = builder.Finish(socket, *status, observed, &d->tracker);
  d->peers_seen = snap.peers.size();
  for (const PeerSnapshot& p : snap.peers) {
    if (p.left_established) {
      ++d->down_changes[p.peer_type.str()];
    }
  }
  if (status->version.empty()) {
    snap.version = client->greeting_version();
  }
  AddLocalAddresses(&snap, d, previous);
  return snap;
}

DaemonSnapshot BirdRound::Query(const std::string& socket, Daemon* d,
                                const DaemonSnapshot* previous) {
  Result<DaemonSnapshot> queried = QueryAndParse(socket, d, previous);
  const std::string error = queried ? std::string() : queried.error().message;
  DaemonSnapshot snap;
  if (queried) {
    snap = std::move(*queried);
  } else {
    snap.daemon = DaemonName(socket);
    snap.socket = socket;
    snap.up = false;
    snap.error = error;
    if (previous != nullptr) {
      snap.last_known_peers = previous->up ? previous->peers : previous->last_known_peers;
    }
  }
  snap.unparsed_lines_total = d->unparsed_total;
  snap.down_changes_total = d->down_changes;
  // Up and down are logged once, and a new reason while down once more.
  if (d->last_up != snap.up || (!snap.up && error != d->last_error)) {
    if (snap.up) {
      logging::Info("BIRD is up",
                    {{"daemon", snap.daemon}, {"socket", socket}, {"version", snap.version}});
    } else {
      logging::Warn("BIRD is down", {{"daemon", snap.daemon}, {"socket", socket}, {"err", error}});
    }
  }
  d->last_up = snap.up;
  d->last_error = error;
  return snap;
}

void BirdRound::Reconfigure(BirdConfig config) {
  config_ = std::move(config);
  for (auto& [socket, d] : daemons_) {
    d.client.reset();
  }
}

std::shared_ptr<const BirdSnapshot> BirdRound::Run() {
  const auto start = clock_->Monotonic();
  std::vector<std::string> sockets = config_.sockets;
  if (sockets.empty()) {
    // Detected sockets, and those seen before: a BIRD that stopped (and removed its socket)
    // is reported down rather than forgotten.
    sockets = DefaultBirdSockets();
    for (const auto& s : seen_sockets_) {
      if (std::find(sockets.begin(), sockets.end(), s) == sockets.end()) {
        sockets.push_back(s);
      }
    }
    if (sockets.empty()) {
      sockets.push_back(FallbackBirdSocket());
    }
  }
  // Released by its last reader, the snapshot gives its peers' vectors back for a later round.
  std::shared_ptr<BirdSnapshot> snap(new BirdSnapshot, [buffers = peer_buffers_](BirdSnapshot* s) {
    for (DaemonSnapshot& d : s->daemons) {
      buffers->Give(std::move(d.peers));
    }
    delete s;
  });
  bool all_up = true;
  for (const std::string& socket : sockets) {
    const DaemonSnapshot* previous = nullptr;
    if (last_) {
      for (const DaemonSnapshot& p : last_->daemons) {
        if (p.socket == socket) {
          previous = &p;
        }
      }
    }
    DaemonSnapshot d = Query(socket, &daemons_[socket], previous);
    if (config_.sockets.empty() && d.up) {
      seen_sockets_.insert(socket);
    }
    all_up = all_up && d.up;
    snap->daemons.push_back(std::move(d));
  }
  // Forget sockets that are no longer configured or detected.
  std::erase_if(daemons_, [&](const auto& kv) {
    return std::find(sockets.begin(), sockets.end(), kv.first) == sockets.end();
  });
  snap->run.probe = "bird";
  snap->run.success = all_up;
  snap->run.duration_seconds = std::chrono::duration<double>(clock_->Monotonic() - start).count();
  snap->run.last_run_timestamp = ToUnixSeconds(clock_->Now());
  last_ = snap;
  return snap;
}

}  // namespace cbe
