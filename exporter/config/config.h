#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"
#include "exporter/config/config_error.h"
#include "probes/probe.h"

namespace cbe {

struct BirdConfig {
  // Control sockets to read. Empty: those that exist of Calico's and /var/run/bird/*.ctl.
  std::vector<std::string> sockets;
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{2000};
  std::size_t max_reply_bytes = 64 << 20;
};

// A peer BIRD does not know, e.g. a top-of-rack router, probed like the BGP neighbours.
struct StaticPeer {
  std::string address;
  std::string name;
};

// `probes`: each prober's own section (probes/probe.h, in the order of its table), and the rate
// they share.
class ProbesConfig {
 public:
  ProbesConfig();  // Every prober's defaults.

  // The settings of Probers()[i], of that prober's own type.
  const probes::ProbeSettings& settings(std::size_t i) const { return *settings_[i]; }
  void set_settings(std::size_t i, std::shared_ptr<const probes::ProbeSettings> s) {
    settings_[i] = std::move(s);
  }
  // The settings of the prober `T::kProbe` (e.g. probes::TcpSettings).
  template <typename T>
  const T& Get() const {
    return static_cast<const T&>(*settings_[Index<T>()]);
  }
  // A copy of them to change (the copies of this config keep theirs).
  template <typename T>
  T& Mutable() {
    auto copy = std::make_shared<T>(Get<T>());
    T& out = *copy;
    settings_[Index<T>()] = std::move(copy);
    return out;
  }

  int packets_per_second = 5000;  // Rate limit of each probe kind's packets.

 private:
  template <typename T>
  static std::size_t Index() {
    const std::size_t i = probes::ProberIndex(T::kProbe);
    if (i >= probes::Probers().size()) {
      std::abort();  // A settings type whose prober has no row in the table.
    }
    return i;
  }

  std::vector<std::shared_ptr<const probes::ProbeSettings>> settings_;
};

// Thresholds of the diagnosis. `diagnosis` in the config file.
struct DiagnosisConfig {
  // A session Established this long with no route imported or exported is `no_routes`...
  std::chrono::milliseconds no_routes_after{std::chrono::minutes(10)};
  // ...when its peer type is one of these: mesh sessions carry every node's pod routes, while a
  // `Node_`/`Global_` peer (a ToR, a route reflector client) may rightly export nothing.
  std::vector<std::string> no_routes_peer_types{"node_mesh"};
};

// The peer types of Calico's protocol names (bird::PeerTypeName).
inline constexpr std::string_view kPeerTypes[] = {"node_mesh", "node_specific", "global", "other"};

// Which sessions get series of their own (`metrics.sessions`).
enum class SessionSeries {
  kAll,        // Every session (the default).
  kUnhealthy,  // Sessions whose cause is not healthy, and their peers' probe series.
};

// Per-peer series (a full mesh has N peers per node, N^2 series in all, so each one per peer
// counts): the extra ones of `metrics.extra`, and which sessions have any (`metrics.sessions`).
struct MetricsConfig {
  bool timers = false;         // calico_bgp_peer_hold_time_seconds, _keepalive_time_seconds
  bool route_details = false;  // calico_bgp_peer_routes{route="preferred"|"filtered"}
  bool state_changes = false;  // calico_bgp_peer_state_changes_total
  bool port_rtt = false;       // calico_bgp_peer_port_rtt_seconds
  bool tx_pending = false;     // calico_bgp_peer_tx_pending_bytes (BIRD 3)
  SessionSeries sessions = SessionSeries::kAll;
  // With `unhealthy`: a healthy session keeps its series this long after its last state change
  // (it just came up, or restarted), so that Prometheus sees it recover.
  std::chrono::milliseconds keep_recovered{300000};
};

// MetricsConfig's switches by the names `metrics.extra` lists.
struct MetricExtra {
  std::string_view name;
  bool MetricsConfig::*on;
};
inline constexpr MetricExtra kMetricExtras[] = {{"timers", &MetricsConfig::timers},
                                                {"route_details", &MetricsConfig::route_details},
                                                {"state_changes", &MetricsConfig::state_changes},
                                                {"port_rtt", &MetricsConfig::port_rtt},
                                                {"tx_pending", &MetricsConfig::tx_pending}};

// The sessions Calico asks for, from `intent serve` (one replica per cluster). Off by default.
struct IntentConfig {
  std::string url;  // "http://calico-bgp-exporter-intent.calico-bgp-exporter.svc:10180"
  std::chrono::milliseconds interval{std::chrono::seconds(60)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::string ca_file;  // For https: the CA that signs the service (empty: the system's).
  bool enabled() const { return !url.empty(); }
};

struct Config {
  // This node's name as Calico knows it (the Kubernetes node name): `node_name` in the file, or
  // the NODE_NAME environment variable (ResolveNodeName). Used to ask the intent service.
  std::string node_name;
  IntentConfig intent;
  BirdConfig bird;
  std::vector<StaticPeer> static_peers;
  ProbesConfig probes;
  MetricsConfig metrics;
  DiagnosisConfig diagnosis;
};

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;  // All of them at once. Empty: the config is valid.
  bool ok() const { return errors.empty(); }
};

// node_name from NODE_NAME when the file has none; an error when the intent client is on and
// the name is still unknown.
std::optional<ConfigError> ResolveNodeName(const std::function<const char*(const char*)>& getenv,
                                           Config* config);

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> ReadTextFile(const std::string& path);

// Parses and validates a YAML config. An empty document gives the defaults.
ConfigResult ParseConfig(std::string_view yaml);

// Reads `path` and parses it. An unreadable file is one error at line 0.
ConfigResult LoadConfigFile(const std::string& path);

// The default sockets: those that exist of Calico's and /var/run/bird/*.ctl (and /run/bird).
std::vector<std::string> DefaultBirdSockets();
// Reported (as down) when no socket was ever found: Calico's IPv4 socket.
std::string FallbackBirdSocket();

// The `daemon` label of a socket: its file name without extension ("bird6").
std::string DaemonName(std::string_view socket_path);

}  // namespace cbe
