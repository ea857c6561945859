#pragma once

// The metric families of one snapshot, one builder per area (bird_families.cc,
// probe_families.cc (the probers' own, through probes::MetricWriter), diagnosis_families.cc,
// self_families.cc), written into `Families` in exposition order. Internal
// to exporter/metrics: exposition.h is the way in.

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/core/snapshot.h"

namespace cbe::metrics {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// `labels` followed by `more`.
Labels With(Labels labels, std::initializer_list<prometheus::ClientMetric::Label> more);

class Families;

// One metric family while the exposition is rendered. Every `chunk` samples are turned into
// exposition text by prometheus-cpp's TextSerializer at once and dropped, so a rendering holds at
// most that many samples per family as objects (at 1000 peers all families as ClientMetrics take
// ~7 MB; their text ~1 MB). Chunk 0: the whole family is serialized at once.
//
// The text goes to the exposition's sink as soon as every family before this one is complete
// (closed); until then it is held. A builder that fills its families one after the other and
// closes each holds no text at all.
class Family {
 public:
  Family(Families* owner, std::string name, std::string help, prometheus::MetricType type,
         std::size_t chunk);

  void Add(Labels labels, double value);
  // Room for `n` samples (at most one chunk's worth).
  void Reserve(std::size_t n);
  // No more samples. Closing twice is harmless.
  void Close();

 private:
  friend class Families;

  void Flush();
  // Sends the held text and streams from now on: every family before this one is complete.
  void Stream();

  Families* owner_;
  std::size_t chunk_;
  prometheus::MetricFamily family_;
  std::string text_;        // Held while a family before this one is still open.
  bool has_text_ = false;   // Its # HELP and # TYPE lines went out or are held.
  bool streaming_ = false;  // Text goes straight to the sink.
  bool closed_ = false;
};

// The families of one exposition, in the order they were added; empty ones are left out. Their
// text goes to `sink` in that order, each family whole, as soon as it can (Family). Call
// CloseAll() after the last builder: text still held when this object goes away is lost.
class Families {
 public:
  Families(std::size_t chunk, std::function<void(std::string_view)> sink)
      : chunk_(chunk), sink_(std::move(sink)) {}

  // The returned reference stays valid while this object lives.
  Family& Add(std::string name, std::string help,
              prometheus::MetricType type = prometheus::MetricType::Gauge);
  // Closes every family added so far, in order: an area's builder is done.
  void CloseAll();

 private:
  friend class Family;

  // Sends the complete families at the front; the first open one streams.
  void Advance();

  std::size_t chunk_;
  std::function<void(std::string_view)> sink_;
  std::deque<Family> families_;  // A deque: Add() never moves the families handed out.
  std::size_t front_ = 0;        // The first family not yet sent whole.
};

// The peer type of a probed address no BIRD session names (peers.static).
inline constexpr std::string_view kNoSessionPeerType = "none";

// The sessions of one snapshot as the builders see them (session_view.cc), worked out once per
// exposition: which sessions and probed peers have series of their own (metrics.sessions), and
// the peer type of each probed address, for the aggregates.
//
// With `all` every session and peer has its series. With `unhealthy` a session has them while
// its diagnosed cause is not healthy, and for metrics.keep_recovered after its last state
// change (so that Prometheus sees it come back, and a flap shows as one); a probed peer has
// them while one of its sessions has, and always when no session names it (peers.static).
class SessionView {
 public:
  SessionView(const Snapshot& snapshot, const MetricsConfig& config);

  // The series of one session: calico_bgp_peer_* with its daemon and protocol.
  bool ShowSession(std::string_view daemon, std::string_view protocol) const;
  // The probe series of one peer address (port state and RTT, ICMP, path MTU, clock offset).
  bool ShowPeer(const std::string& address) const;
  // The peer type of a probed address: that of its sessions (the first of node_mesh,
  // node_specific, global, other when they differ), or kNoSessionPeerType. Valid while this
  // object lives.
  std::string_view PeerType(const std::string& address) const;

 private:
  std::set<std::pair<std::string, std::string>> hidden_sessions_;  // (daemon, protocol)
  std::set<std::string, std::less<>> hidden_peers_;
  std::map<std::string, std::string, std::less<>> peer_types_;
};

// The builders, in the order BuildExposition() calls them (exposition.cc): each adds its
// families to `families` (so their order is the exposition's) and fills them from its part of
// the snapshot; a part that is null adds families without series, which are left out. Series
// of one session or one probed peer only where `view` shows them.
void AddBuildInfo(Families& families);
void AddBirdFamilies(const BirdSnapshot* bird, const MetricsConfig& extra, const SessionView& view,
                     Families& families);
// calico_bgp_probe_{success,duration_seconds,last_run_timestamp_seconds}: one series per probe
// run of the snapshot (the BIRD round, each prober, the intent client), in that order.
void AddProbeRunFamilies(const Snapshot& snapshot, Families& families);
// Every prober's families (probes::Prober::Expose), in the order of probes::Probers().
void AddProberFamilies(const Snapshot& snapshot, const MetricsConfig& extra,
                       const SessionView& view, Families& families);
void AddConfigFamilies(const ConfigStatus* config, Families& families);
void AddIntentFamilies(const IntentSnapshot* intent, const DiagnosisSnapshot* diagnosis,
                       Families& families);
void AddDiagnosisFamilies(const DiagnosisSnapshot* diagnosis, const SessionView& view,
                          Families& families);
// The low-cardinality families that exist whatever metrics.sessions says (aggregate_families.cc):
// sessions by daemon, peer type and cause, Established sessions, losses of Established, and the
// probes' results by peer type.
void AddAggregateFamilies(const Snapshot& snapshot, const SessionView& view, Families& families);

}  // namespace cbe::metrics
