#include "exporter/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exporter/base/duration.h"
#include "probes/net/address.h"

namespace cbe {
namespace {

constexpr std::string_view kCalicoSockets[] = {"/var/run/calico/bird.ctl",
                                               "/var/run/calico/bird6.ctl"};
constexpr std::string_view kBirdSocketDirs[] = {"/var/run/bird", "/run/bird"};

class Validator {
 public:
  explicit Validator(std::vector<ConfigError>* errors) : errors_(errors) {}

  void Fail(const YAML::Node& node, std::string key, std::string message) {
    ConfigError e;
    if (node.IsDefined()) {
      const YAML::Mark mark = node.Mark();
      if (mark.line >= 0) {
        e.line = mark.line + 1;
        e.column = mark.column + 1;
      }
    }
    e.key = std::move(key);
    e.message = std::move(message);
    errors_->push_back(std::move(e));
  }

  // Checks that `node` is a map whose keys are all in `known`.
  bool ExpectMap(const YAML::Node& node, const std::string& path,
                 std::initializer_list<std::string_view> known) {
    if (!node.IsMap()) {
      Fail(node, path, "must be a map");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string expected;
        for (std::string_view k : known) {
          expected += expected.empty() ? "" : ", ";
          expected += k;
        }
        Fail(kv.first, Join(path, key), "unknown key (expected one of: " + expected + ")");
      }
    }
    return true;
  }

  void Duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds* out) {
    if (!node.IsDefined() || node.IsNull()) {
      return;
    }
    if (!node.IsScalar()) {
      Fail(node, path, "must be a duration such as 5s or 100ms");
      return;
    }
    auto d = ParseDuration(node.Scalar());
    if (!d) {
      Fail(node, path,
           "invalid duration \"" + node.Scalar() + "\" (use a number and a unit: 5s, 100ms, 1m)");
      return;
    }
    if (d->count() <= 0) {
      Fail(node, path, "must be greater than zero");
      return;
    }
    *out = *d;
  }

  void Bool(const YAML::Node& node, const std::string& path, bool* out) {
    if (!node.IsDefined() || node.IsNull()) {
      return;
    }
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) {
      Fail(node, path, "must be true or false");
      return;
    }
    *out = v;
  }

  template <typename T>
  void Int(const YAML::Node& node, const std::string& path, T min, T max, T* out) {
    if (!node.IsDefined() || node.IsNull()) {
      return;
    }
    long long v = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v) || v < min || v > max) {
      Fail(node, path,
           "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    *out = static_cast<T>(v);
  }

  void Size(const YAML::Node& node, const std::string& path, std::size_t* out) {
    if (!node.IsDefined() || node.IsNull()) {
      return;
    }
    std::size_t v = 0;
    if (!node.IsScalar() || !YAML::convert<std::size_t>::decode(node, v) || v == 0 ||
        node.Scalar().find('-') != std::string::npos) {
      Fail(node, path, "must be a positive number of bytes");
      return;
    }
    *out = v;
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::vector<ConfigError>* errors_;
};

void ParseBird(const YAML::Node& node, Validator* v, BirdConfig* bird) {
  if (!v->ExpectMap(node, "bird", {"sockets", "interval", "timeout", "max_reply_bytes"})) {
    return;
  }
  if (const YAML::Node sockets = node["sockets"]; sockets.IsDefined() && !sockets.IsNull()) {
    if (!sockets.IsSequence()) {
      v->Fail(sockets, "bird.sockets", "must be a list of socket paths");
    } else {
      std::set<std::string> daemons;
      for (std::size_t i = 0; i < sockets.size(); ++i) {
        const YAML::Node s = sockets[i];
        const std::string key = "bird.sockets[" + std::to_string(i) + "]";
        if (!s.IsScalar() || s.Scalar().empty()) {
          v->Fail(s, key, "must be a socket path");
          continue;
        }
        const std::string path = s.Scalar();
        if (path.front() != '/') {
          v->Fail(s, key, "must be an absolute path, got \"" + path + "\"");
          continue;
        }
        if (path.size() >= 108) {
          v->Fail(s, key, "path longer than a unix socket address allows (107 bytes)");
          continue;
        }
        const std::string daemon = DaemonName(path);
        if (!daemons.insert(daemon).second) {
          v->Fail(s, key,
                  "another socket already has the daemon name \"" + daemon +
                      "\" (the file name without extension labels the series)");
          continue;
        }
        bird->sockets.push_back(path);
      }
    }
  }
  v->Duration(node["interval"], "bird.interval", &bird->interval);
  v->Duration(node["timeout"], "bird.timeout", &bird->timeout);
  v->Size(node["max_reply_bytes"], "bird.max_reply_bytes", &bird->max_reply_bytes);
  if (bird->timeout > bird->interval) {
    v->Fail(node["timeout"].IsDefined() ? node["timeout"] : node, "bird.timeout",
            "must not exceed bird.interval (" + FormatDuration(bird->interval) + ")");
  }
}

void ParseStaticPeers(const YAML::Node& node, Validator* v, std::vector<StaticPeer>* out) {
  if (!v->ExpectMap(node, "peers", {"static"})) {
    return;
  }
  const YAML::Node list = node["static"];
  if (!list.IsDefined() || list.IsNull()) {
    return;
  }
  if (!list.IsSequence()) {
    v->Fail(list, "peers.static", "must be a list of {address, name}");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node p = list[i];
    const std::string key = "peers.static[" + std::to_string(i) + "]";
    if (!v->ExpectMap(p, key, {"address", "name"})) {
      continue;
    }
    const YAML::Node addr = p["address"];
    if (!addr.IsDefined() || !addr.IsScalar()) {
      v->Fail(addr.IsDefined() ? addr : p, key + ".address", "required: the peer's IP address");
      continue;
    }
    const auto ip = net::IpAddress::Parse(addr.Scalar());
    if (!ip) {
      v->Fail(addr, key + ".address", "not an IP address: \"" + addr.Scalar() + "\"");
      continue;
    }
    if (!seen.insert(ip->ToString()).second) {
      v->Fail(addr, key + ".address", "listed twice: " + ip->ToString());
      continue;
    }
    StaticPeer peer;
    peer.address = ip->ToString();
    if (const YAML::Node name = p["name"]; name.IsDefined() && !name.IsNull()) {
      if (!name.IsScalar()) {
        v->Fail(name, key + ".name", "must be a string");
        continue;
      }
      peer.name = name.Scalar();
    }
    out->push_back(std::move(peer));
  }
}

void ParseProbes(const YAML::Node& node, Validator* v, ProbesConfig* probes) {
  if (!v->ExpectMap(node, "probes", {"tcp", "icmp", "mtu", "listener", "packets_per_second"})) {
    return;
  }
  v->Int(node["packets_per_second"], "probes.packets_per_second", 1, 1000000,
         &probes->packets_per_second);
  if (const YAML::Node tcp = node["tcp"]; tcp.IsDefined() && !tcp.IsNull()) {
    if (v->ExpectMap(tcp, "probes.tcp", {"enabled", "mode", "port", "interval", "timeout"})) {
      v->Bool(tcp["enabled"], "probes.tcp.enabled", &probes->tcp.enabled);
      if (const YAML::Node mode = tcp["mode"]; mode.IsDefined() && !mode.IsNull()) {
        if (mode.IsScalar() && (mode.Scalar() == "syn" || mode.Scalar() == "connect")) {
          probes->tcp.connect_mode = mode.Scalar() == "connect";
        } else {
          v->Fail(mode, "probes.tcp.mode",
                  "must be syn (half-open, needs CAP_NET_RAW) or connect (risky: a full "
                  "connect)");
        }
      }
      v->Int<std::uint16_t>(tcp["port"], "probes.tcp.port", 1, 65535, &probes->tcp.port);
      v->Duration(tcp["interval"], "probes.tcp.interval", &probes->tcp.interval);
      v->Duration(tcp["timeout"], "probes.tcp.timeout", &probes->tcp.timeout);
      if (probes->tcp.timeout > probes->tcp.interval) {
        v->Fail(
            tcp["timeout"].IsDefined() ? tcp["timeout"] : tcp, "probes.tcp.timeout",
            "must not exceed probes.tcp.interval (" + FormatDuration(probes->tcp.interval) + ")");
      }
    }
  }
  if (const YAML::Node icmp = node["icmp"]; icmp.IsDefined() && !icmp.IsNull()) {
    if (v->ExpectMap(icmp, "probes.icmp", {"enabled", "interval", "count", "timeout"})) {
      v->Bool(icmp["enabled"], "probes.icmp.enabled", &probes->icmp.enabled);
      v->Duration(icmp["interval"], "probes.icmp.interval", &probes->icmp.interval);
      v->Int(icmp["count"], "probes.icmp.count", 1, 100, &probes->icmp.count);
      v->Duration(icmp["timeout"], "probes.icmp.timeout", &probes->icmp.timeout);
      if (probes->icmp.timeout > probes->icmp.interval) {
        v->Fail(
            icmp["timeout"].IsDefined() ? icmp["timeout"] : icmp, "probes.icmp.timeout",
            "must not exceed probes.icmp.interval (" + FormatDuration(probes->icmp.interval) + ")");
      }
    }
  }
  if (const YAML::Node mtu = node["mtu"]; mtu.IsDefined() && !mtu.IsNull()) {
    if (v->ExpectMap(mtu, "probes.mtu", {"enabled", "interval", "timeout", "max_steps"})) {
      v->Bool(mtu["enabled"], "probes.mtu.enabled", &probes->mtu.enabled);
      v->Duration(mtu["interval"], "probes.mtu.interval", &probes->mtu.interval);
      v->Duration(mtu["timeout"], "probes.mtu.timeout", &probes->mtu.timeout);
      v->Int(mtu["max_steps"], "probes.mtu.max_steps", 2, 32, &probes->mtu.max_steps);
    }
  }
  if (const YAML::Node l = node["listener"]; l.IsDefined() && !l.IsNull()) {
    if (v->ExpectMap(l, "probes.listener", {"enabled", "interval"})) {
      v->Bool(l["enabled"], "probes.listener.enabled", &probes->listener.enabled);
      v->Duration(l["interval"], "probes.listener.interval", &probes->listener.interval);
    }
  }
}

void ParseMetrics(const YAML::Node& node, Validator* v, MetricsConfig* metrics) {
  if (!v->ExpectMap(node, "metrics", {"extra"})) {
    return;
  }
  const YAML::Node extra = node["extra"];
  if (!extra.IsDefined() || extra.IsNull()) {
    return;
  }
  std::string names;
  for (const MetricExtra& x : kMetricExtras) {
    names += (names.empty() ? "" : ", ") + std::string(x.name);
  }
  if (!extra.IsSequence()) {
    v->Fail(extra, "metrics.extra", "must be a list of: " + names);
    return;
  }
  for (std::size_t i = 0; i < extra.size(); ++i) {
    const YAML::Node e = extra[i];
    const std::string name = e.IsScalar() ? e.Scalar() : "";
    const auto* x = std::find_if(std::begin(kMetricExtras), std::end(kMetricExtras),
                                 [&](const MetricExtra& m) { return m.name == name; });
    if (x != std::end(kMetricExtras)) {
      metrics->*(x->on) = true;
    } else {
      v->Fail(e, "metrics.extra[" + std::to_string(i) + "]",
              (name.empty() ? std::string("must be a name") : "unknown extra '" + name + "'") +
                  "; known: " + names);
    }
  }
}

void ParseClock(const YAML::Node& node, Validator* v, ClockConfig* clock) {
  if (!v->ExpectMap(
          node, "clock",
          {"interval", "max_offset", "timeout", "ntp_servers", "chrony", "peer_offset"})) {
    return;
  }
  v->Duration(node["interval"], "clock.interval", &clock->interval);
  v->Duration(node["max_offset"], "clock.max_offset", &clock->max_offset);
  v->Duration(node["timeout"], "clock.timeout", &clock->timeout);
  if (clock->timeout > clock->interval) {
    v->Fail(node["timeout"].IsDefined() ? node["timeout"] : node, "clock.timeout",
            "must not exceed clock.interval (" + FormatDuration(clock->interval) + ")");
  }
  if (const YAML::Node servers = node["ntp_servers"]; servers.IsDefined() && !servers.IsNull()) {
    if (!servers.IsSequence()) {
      v->Fail(servers, "clock.ntp_servers", "must be a list of host or host:port");
    } else {
      for (std::size_t i = 0; i < servers.size(); ++i) {
        const YAML::Node s = servers[i];
        const std::string key = "clock.ntp_servers[" + std::to_string(i) + "]";
        if (!s.IsScalar() || s.Scalar().empty() ||
            s.Scalar().find_first_of(" \t/") != std::string::npos) {
          v->Fail(s, key, "must be a host or host:port, e.g. 10.0.0.53 or ntp.internal:123");
          continue;
        }
        clock->ntp_servers.push_back(s.Scalar());
      }
    }
  }
  if (const YAML::Node chrony = node["chrony"]; chrony.IsDefined() && !chrony.IsNull()) {
    if (v->ExpectMap(chrony, "clock.chrony", {"address", "enabled"})) {
      v->Bool(chrony["enabled"], "clock.chrony.enabled", &clock->chrony_enabled);
      if (const YAML::Node a = chrony["address"]; a.IsDefined() && !a.IsNull()) {
        if (!a.IsScalar() || !net::ParseHostPort(a.Scalar(), 323)) {
          v->Fail(a, "clock.chrony.address",
                  "must be an IP address with an optional port, e.g. 127.0.0.1:323");
        } else {
          clock->chrony_address = a.Scalar();
        }
      }
    }
  }
  if (const YAML::Node p = node["peer_offset"]; p.IsDefined() && !p.IsNull()) {
    if (v->ExpectMap(p, "clock.peer_offset", {"enabled"})) {
      v->Bool(p["enabled"], "clock.peer_offset.enabled", &clock->peer_offset_enabled);
    }
  }
}

}  // namespace

std::string ConfigError::Format(std::string_view file) const {
  std::ostringstream out;
  out << file;
  if (line > 0) {
    out << ':' << line << ':' << column;
  }
  out << ": ";
  if (!key.empty()) {
    out << key << ": ";
  }
  out << message;
  return out.str();
}

ConfigResult ParseConfig(std::string_view yaml) {
  ConfigResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigError err;
    err.line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    err.column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    err.message = "invalid YAML: " + e.msg;
    result.errors.push_back(std::move(err));
    return result;
  }
  Validator v(&result.errors);
  if (!root.IsDefined() || root.IsNull()) {
    return result;  // An empty file: all defaults.
  }
  try {
    if (!v.ExpectMap(root, "", {"bird", "peers", "probes", "clock", "metrics"})) {
      return result;
    }
    if (const YAML::Node bird = root["bird"]; bird.IsDefined() && !bird.IsNull()) {
      ParseBird(bird, &v, &result.config.bird);
    }
    if (const YAML::Node peers = root["peers"]; peers.IsDefined() && !peers.IsNull()) {
      ParseStaticPeers(peers, &v, &result.config.static_peers);
    }
    if (const YAML::Node probes = root["probes"]; probes.IsDefined() && !probes.IsNull()) {
      ParseProbes(probes, &v, &result.config.probes);
    }
    if (const YAML::Node clock = root["clock"]; clock.IsDefined() && !clock.IsNull()) {
      ParseClock(clock, &v, &result.config.clock);
    }
    if (const YAML::Node metrics = root["metrics"]; metrics.IsDefined() && !metrics.IsNull()) {
      ParseMetrics(metrics, &v, &result.config.metrics);
    }
  } catch (const YAML::Exception& e) {
    v.Fail(root, "", std::string("invalid config: ") + e.what());
  }
  return result;
}

std::optional<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

ConfigResult LoadConfigFile(const std::string& path) {
  const auto text = ReadTextFile(path);
  if (!text) {
    ConfigResult r;
    r.errors.push_back(ConfigError{0, 0, "", "cannot read the config file"});
    return r;
  }
  return ParseConfig(*text);
}

std::string DaemonName(std::string_view socket_path) {
  return std::filesystem::path(socket_path).stem().string();
}

std::vector<std::string> DefaultBirdSockets() {
  std::vector<std::string> found;
  std::set<std::string> daemons;
  std::error_code ec;
  const auto add = [&](const std::string& path) {
    if (std::filesystem::is_socket(path, ec) && daemons.insert(DaemonName(path)).second) {
      found.push_back(path);
    }
  };
  for (std::string_view s : kCalicoSockets) {
    add(std::string(s));
  }
  for (std::string_view dir : kBirdSocketDirs) {
    std::vector<std::string> in_dir;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".ctl") {
        in_dir.push_back(entry.path().string());
      }
    }
    std::sort(in_dir.begin(), in_dir.end());
    for (const auto& p : in_dir) {
      add(p);
    }
  }
  return found;
}

std::string FallbackBirdSocket() { return std::string(kCalicoSockets[0]); }

}  // namespace cbe
