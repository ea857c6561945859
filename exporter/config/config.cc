#include "exporter/config/config.h"

#include <sys/un.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exporter/base/duration.h"
#include "exporter/config/yaml_schema.h"
#include "probes/net/address.h"

namespace cbe {
namespace {

constexpr std::string_view kCalicoSockets[] = {"/var/run/calico/bird.ctl",
                                               "/var/run/calico/bird6.ctl"};
constexpr std::string_view kBirdSocketDirs[] = {"/var/run/bird", "/run/bird"};

// A unix socket path must fit sockaddr_un's sun_path with its terminating NUL.
constexpr std::size_t kUnixPathMax = sizeof(sockaddr_un{}.sun_path);
constexpr int kMaxPacketsPerSecond = 1'000'000;

// `timeout` must not exceed `interval`: the round would overlap the next.
void TimeoutWithinInterval(const YAML::Node& node, const std::string& path,
                           std::chrono::milliseconds timeout, std::chrono::milliseconds interval,
                           YamlChecker* v) {
  if (timeout > interval) {
    v->Fail(node["timeout"].IsDefined() ? node["timeout"] : node, path + ".timeout",
            "must not exceed " + path + ".interval (" + FormatDuration(interval) + ")");
  }
}

void ParseBirdSockets(const YAML::Node& sockets, YamlChecker* v, std::vector<std::string>* out) {
  std::set<std::string> daemons;
  v->ForEachItem(sockets, "bird.sockets", "must be a list of socket paths",
                 [&](const YAML::Node& s, const std::string& key) {
                   if (!s.IsScalar() || s.Scalar().empty()) {
                     v->Fail(s, key, "must be a socket path");
                     return;
                   }
                   const std::string path = s.Scalar();
                   if (path.front() != '/') {
                     v->Fail(s, key, "must be an absolute path, got \"" + path + "\"");
                     return;
                   }
                   if (path.size() >= kUnixPathMax) {
                     v->Fail(s, key,
                             "path longer than a unix socket address allows (" +
                                 std::to_string(kUnixPathMax - 1) + " bytes)");
                     return;
                   }
                   const std::string daemon = DaemonName(path);
                   if (!daemons.insert(daemon).second) {
                     v->Fail(s, key,
                             "another socket already has the daemon name \"" + daemon +
                                 "\" (the file name without extension labels the series)");
                     return;
                   }
                   out->push_back(path);
                 });
}

void ParseBird(const YAML::Node& node, YamlChecker* v, BirdConfig* bird) {
  if (!v->ExpectMap(node, "bird", {"sockets", "interval", "timeout", "max_reply_bytes"})) {
    return;
  }
  if (const YAML::Node sockets = node["sockets"]; YamlChecker::Present(sockets)) {
    ParseBirdSockets(sockets, v, &bird->sockets);
  }
  v->Duration(node["interval"], "bird.interval", &bird->interval);
  v->Duration(node["timeout"], "bird.timeout", &bird->timeout);
  v->Size(node["max_reply_bytes"], "bird.max_reply_bytes", &bird->max_reply_bytes);
  TimeoutWithinInterval(node, "bird", bird->timeout, bird->interval, v);
}

// One entry of peers.static; `seen` holds the addresses so far (in canonical spelling).
void ParseStaticPeer(const YAML::Node& p, const std::string& key, YamlChecker* v,
                     std::set<std::string>* seen, std::vector<StaticPeer>* out) {
  if (!v->ExpectMap(p, key, {"address", "name"})) {
    return;
  }
  const YAML::Node addr = p["address"];
  if (!addr.IsDefined() || !addr.IsScalar()) {
    v->Fail(addr.IsDefined() ? addr : p, key + ".address", "required: the peer's IP address");
    return;
  }
  const auto ip = net::IpAddress::Parse(addr.Scalar());
  if (!ip) {
    v->Fail(addr, key + ".address", "not an IP address: \"" + addr.Scalar() + "\"");
    return;
  }
  if (!seen->insert(ip->ToString()).second) {
    v->Fail(addr, key + ".address", "listed twice: " + ip->ToString());
    return;
  }
  StaticPeer peer;
  peer.address = ip->ToString();
  if (const YAML::Node name = p["name"]; YamlChecker::Present(name)) {
    if (!name.IsScalar()) {
      v->Fail(name, key + ".name", "must be a string");
      return;
    }
    peer.name = name.Scalar();
  }
  out->push_back(std::move(peer));
}

void ParseStaticPeers(const YAML::Node& node, YamlChecker* v, std::vector<StaticPeer>* out) {
  if (!v->ExpectMap(node, "peers", {"static"})) {
    return;
  }
  const YAML::Node list = node["static"];
  if (!YamlChecker::Present(list)) {
    return;
  }
  std::set<std::string> seen;
  v->ForEachItem(
      list, "peers.static", "must be a list of {address, name}",
      [&](const YAML::Node& p, const std::string& key) { ParseStaticPeer(p, key, v, &seen, out); });
}

// A prober's section `probes.<name>` read through the one YAML validator.
class YamlSettingsReader final : public probes::SettingsReader {
 public:
  YamlSettingsReader(const YAML::Node& node, std::string path, YamlChecker* v)
      : node_(node), path_(std::move(path)), v_(v) {}

  bool Keys(std::initializer_list<std::string_view> known) override {
    return v_->ExpectMap(node_, path_, known);
  }
  void Bool(std::string_view key, bool* out) override { v_->Bool(Node(key), Path(key), out); }
  void Duration(std::string_view key, std::chrono::milliseconds* out) override {
    v_->Duration(Node(key), Path(key), out);
  }
  std::optional<std::string> Scalar(std::string_view key, std::string_view message,
                                    const std::function<bool(const std::string&)>& valid) override {
    const YAML::Node value = Node(key);
    if (!YamlChecker::Present(value)) {
      return std::nullopt;
    }
    if (value.IsScalar() && valid(value.Scalar())) {
      return value.Scalar();
    }
    v_->Fail(value, Path(key), std::string(message));
    return std::nullopt;
  }
  void Scalars(std::string_view key, std::string_view not_a_list, std::string_view message,
               const std::function<bool(const std::string&)>& valid,
               std::vector<std::string>* out) override {
    const YAML::Node list = Node(key);
    if (!YamlChecker::Present(list)) {
      return;
    }
    v_->ForEachItem(list, Path(key), not_a_list,
                    [&](const YAML::Node& item, const std::string& item_path) {
                      if (!item.IsScalar() || !valid(item.Scalar())) {
                        v_->Fail(item, item_path, std::string(message));
                        return;
                      }
                      out->push_back(item.Scalar());
                    });
  }
  std::unique_ptr<SettingsReader> Section(std::string_view key) override {
    const YAML::Node section = Node(key);
    if (!YamlChecker::Present(section)) {
      return nullptr;
    }
    return std::make_unique<YamlSettingsReader>(section, Path(key), v_);
  }
  void TimeoutWithinInterval(std::chrono::milliseconds timeout,
                             std::chrono::milliseconds interval) override {
    cbe::TimeoutWithinInterval(node_, path_, timeout, interval, v_);
  }

 protected:
  bool IntInRange(std::string_view key, long long min, long long max, long long* out) override {
    return v_->Int(Node(key), Path(key), min, max, out);
  }

 private:
  YAML::Node Node(std::string_view key) const { return node_[std::string(key)]; }
  std::string Path(std::string_view key) const { return YamlChecker::Join(path_, key); }

  YAML::Node node_;
  std::string path_;
  YamlChecker* v_;
};

// Prober `i`'s section `node` at `path`, over its defaults.
void ParseProberSection(std::size_t i, const YAML::Node& node, const std::string& path,
                        YamlChecker* v, ProbesConfig* config) {
  const probes::Prober& prober = *probes::Probers()[i];
  std::shared_ptr<probes::ProbeSettings> settings = prober.DefaultSettings();
  YamlSettingsReader reader(node, path, v);
  prober.ParseSettings(reader, settings.get());
  config->set_settings(i, std::move(settings));
}

void ParseProbes(const YAML::Node& node, YamlChecker* v, ProbesConfig* config) {
  const auto probers = probes::Probers();
  std::vector<std::string_view> keys;
  for (const probes::Prober* p : probers) {
    if (!p->TopLevelSection()) {
      keys.push_back(p->Name());
    }
  }
  keys.emplace_back("packets_per_second");
  if (!v->ExpectMap(node, "probes", keys)) {
    return;
  }
  v->Int(node["packets_per_second"], "probes.packets_per_second", 1, kMaxPacketsPerSecond,
         &config->packets_per_second);
  for (std::size_t i = 0; i < probers.size(); ++i) {
    const std::string name(probers[i]->Name());
    if (const YAML::Node section = node[name];
        !probers[i]->TopLevelSection() && YamlChecker::Present(section)) {
      ParseProberSection(i, section, YamlChecker::Join("probes", name), v, config);
    }
  }
}

void ParseSessionSeries(const YAML::Node& sessions, YamlChecker* v, MetricsConfig* metrics) {
  if (!YamlChecker::Present(sessions)) {
    return;
  }
  if (sessions.IsScalar() && (sessions.Scalar() == "all" || sessions.Scalar() == "unhealthy")) {
    metrics->sessions =
        sessions.Scalar() == "all" ? SessionSeries::kAll : SessionSeries::kUnhealthy;
    return;
  }
  v->Fail(sessions, "metrics.sessions",
          "must be all (series for every session) or unhealthy (only for sessions whose cause "
          "is not healthy)");
}

void ParseMetrics(const YAML::Node& node, YamlChecker* v, MetricsConfig* metrics) {
  if (!v->ExpectMap(node, "metrics", {"extra", "sessions", "keep_recovered"})) {
    return;
  }
  ParseSessionSeries(node["sessions"], v, metrics);
  v->Duration(node["keep_recovered"], "metrics.keep_recovered", &metrics->keep_recovered);
  const YAML::Node extra = node["extra"];
  if (!YamlChecker::Present(extra)) {
    return;
  }
  std::string names;
  for (const MetricExtra& x : kMetricExtras) {
    names += (names.empty() ? "" : ", ") + std::string(x.name);
  }
  v->ForEachItem(
      extra, "metrics.extra", "must be a list of: " + names,
      [&](const YAML::Node& e, const std::string& key) {
        const std::string name = e.IsScalar() ? e.Scalar() : "";
        const auto* x = std::find_if(std::begin(kMetricExtras), std::end(kMetricExtras),
                                     [&](const MetricExtra& m) { return m.name == name; });
        if (x != std::end(kMetricExtras)) {
          metrics->*(x->on) = true;
        } else {
          v->Fail(e, key,
                  (name.empty() ? std::string("must be a name") : "unknown extra '" + name + "'") +
                      "; known: " + names);
        }
      });
}

void ParseIntent(const YAML::Node& node, YamlChecker* v, IntentConfig* intent) {
  if (!v->ExpectMap(node, "intent", {"url", "interval", "timeout", "ca_file"})) {
    return;
  }
  if (const YAML::Node url = node["url"]; YamlChecker::Present(url)) {
    if (!url.IsScalar() ||
        (url.Scalar().rfind("http://", 0) != 0 && url.Scalar().rfind("https://", 0) != 0)) {
      v->Fail(url, "intent.url",
              "must be the http:// or https:// URL of intent serve, e.g. "
              "http://calico-bgp-exporter-intent.calico-bgp-exporter.svc:10180");
    } else {
      intent->url = url.Scalar();
      while (intent->url.size() > 8 && intent->url.back() == '/') {
        intent->url.pop_back();
      }
    }
  }
  v->Duration(node["interval"], "intent.interval", &intent->interval);
  v->Duration(node["timeout"], "intent.timeout", &intent->timeout);
  TimeoutWithinInterval(node, "intent", intent->timeout, intent->interval, v);
  if (const YAML::Node ca = node["ca_file"]; YamlChecker::Present(ca)) {
    v->String(ca, "intent.ca_file", &intent->ca_file);
  }
}

void ParseDiagnosis(const YAML::Node& node, YamlChecker* v, DiagnosisConfig* diagnosis) {
  if (!v->ExpectMap(node, "diagnosis", {"no_routes_after", "no_routes_peer_types"})) {
    return;
  }
  v->Duration(node["no_routes_after"], "diagnosis.no_routes_after", &diagnosis->no_routes_after);
  const YAML::Node types = node["no_routes_peer_types"];
  if (!YamlChecker::Present(types)) {
    return;
  }
  std::string names;
  for (std::string_view t : kPeerTypes) {
    names += (names.empty() ? "" : ", ") + std::string(t);
  }
  if (!types.IsSequence()) {
    v->Fail(types, "diagnosis.no_routes_peer_types", "must be a list of: " + names);
    return;
  }
  diagnosis->no_routes_peer_types.clear();
  for (std::size_t i = 0; i < types.size(); ++i) {
    const YAML::Node t = types[i];
    const std::string path = "diagnosis.no_routes_peer_types[" + std::to_string(i) + "]";
    if (!t.IsScalar() || std::find(std::begin(kPeerTypes), std::end(kPeerTypes), t.Scalar()) ==
                             std::end(kPeerTypes)) {
      v->Fail(t, path,
              "unknown peer type" + (t.IsScalar() ? " '" + t.Scalar() + "'" : std::string()) +
                  "; known: " + names);
      continue;
    }
    diagnosis->no_routes_peer_types.push_back(t.Scalar());
  }
}

void ParseRoot(const YAML::Node& root, YamlChecker* v, Config* config) {
  // The probers with a section of their own at the top (clock) come after `probes`.
  std::vector<std::string_view> keys = {"node_name", "intent", "bird", "peers", "probes"};
  for (const probes::Prober* p : probes::Probers()) {
    if (p->TopLevelSection()) {
      keys.push_back(p->Name());
    }
  }
  keys.insert(keys.end(), {"metrics", "diagnosis"});
  if (!v->ExpectMap(root, "", keys)) {
    return;
  }
  if (const YAML::Node name = root["node_name"]; YamlChecker::Present(name)) {
    v->String(name, "node_name", &config->node_name);
  }
  if (const YAML::Node intent = root["intent"]; YamlChecker::Present(intent)) {
    ParseIntent(intent, v, &config->intent);
  }
  if (const YAML::Node diagnosis = root["diagnosis"]; YamlChecker::Present(diagnosis)) {
    ParseDiagnosis(diagnosis, v, &config->diagnosis);
  }
  if (const YAML::Node bird = root["bird"]; YamlChecker::Present(bird)) {
    ParseBird(bird, v, &config->bird);
  }
  if (const YAML::Node peers = root["peers"]; YamlChecker::Present(peers)) {
    ParseStaticPeers(peers, v, &config->static_peers);
  }
  if (const YAML::Node probes = root["probes"]; YamlChecker::Present(probes)) {
    ParseProbes(probes, v, &config->probes);
  }
  for (std::size_t i = 0; i < probes::Probers().size(); ++i) {
    const probes::Prober& prober = *probes::Probers()[i];
    if (const YAML::Node section = root[std::string(prober.Name())];
        prober.TopLevelSection() && YamlChecker::Present(section)) {
      ParseProberSection(i, section, std::string(prober.Name()), v, &config->probes);
    }
  }
  if (const YAML::Node metrics = root["metrics"]; YamlChecker::Present(metrics)) {
    ParseMetrics(metrics, v, &config->metrics);
  }
}

}  // namespace

ProbesConfig::ProbesConfig() {
  for (const probes::Prober* p : probes::Probers()) {
    settings_.push_back(p->DefaultSettings());
  }
}

ConfigResult ParseConfig(std::string_view yaml) {
  ConfigResult result;
  const auto root = LoadYamlDocument(yaml, &result.errors);
  if (!root || !YamlChecker::Present(*root)) {
    return result;  // Invalid YAML, or an empty file: all defaults.
  }
  YamlChecker v(&result.errors);
  v.Run(*root, "invalid config", [&](YamlChecker& c) { ParseRoot(*root, &c, &result.config); });
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

std::optional<ConfigError> ResolveNodeName(const std::function<const char*(const char*)>& getenv,
                                           Config* config) {
  if (config->node_name.empty()) {
    const char* env = getenv("NODE_NAME");
    config->node_name = env != nullptr ? env : "";
  }
  if (config->intent.enabled() && config->node_name.empty()) {
    return ConfigError{0, 0, "node_name",
                       "intent.url needs this node's name: set node_name, or the NODE_NAME "
                       "environment variable (the DaemonSet sets it from spec.nodeName)"};
  }
  return std::nullopt;
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
