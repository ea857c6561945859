#pragma once

// One interface for the probes of probes/ (blackbox_exporter's prober): a probe kind is one file
// pair that defines its settings (its section `probes.<name>` of the config file), its round and
// its series, plus one row in the table of probers (probe_table.cc). The config parser, the
// runner, the snapshot, the pages, `check` and the exposition iterate that table: none of them
// names a prober. The diagnosis and the aggregate families read the results they know by type
// (Snapshot::Probe<T>()).
//
// The layer below the exporter: a prober sees no YAML, no prometheus-cpp and no snapshot, only
// the narrow views here (SettingsReader, ProbeContext, MetricWriter), which the exporter's layers
// implement.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/net/address.h"

namespace cbe::probes {

// Self-metrics of one run of a probe (node_exporter's scrape_collector_*).
struct ProbeRun {
  std::string probe;
  bool success = false;
  double duration_seconds = 0;
  double last_run_timestamp = 0;
};

// The settings every prober has; a prober's own settings derive from it and name their prober
// (`static constexpr std::string_view kProbe`).
struct ProbeSettings {
  virtual ~ProbeSettings() = default;
  bool enabled = true;
  std::chrono::milliseconds interval{30000};
};

// What one round of a prober found; a prober's own result derives from it and names its prober
// (`kProbe`). The exporter fills `run` but for `success`, the prober's rule.
struct ProbeResult {
  virtual ~ProbeResult() = default;
  ProbeRun run;
};

// A peer to probe: a BIRD neighbour or a static peer, once each.
struct ProbeTarget {
  net::IpAddress ip;
  bool established = false;  // Some BGP session to this address is Established.
};

std::vector<net::IpAddress> Addresses(const std::vector<ProbeTarget>& targets);

// Reads a prober's section of the config file (`probes.<name>`, or `<name>` at the top for a
// prober whose TopLevelSection() says so). Each reader reports its own errors (file:line:col,
// key path) and leaves its output unchanged when the key is absent.
class SettingsReader {
 public:
  virtual ~SettingsReader() = default;

  // The section's keys, `enabled` and `interval` included, in the order error messages list
  // them. False when the section is not a map: nothing more to read.
  virtual bool Keys(std::initializer_list<std::string_view> known) = 0;
  virtual void Bool(std::string_view key, bool* out) = 0;
  virtual void Duration(std::string_view key, std::chrono::milliseconds* out) = 0;
  // A scalar that `valid` accepts, or an error `message` and nullopt.
  virtual std::optional<std::string> Scalar(
      std::string_view key, std::string_view message,
      const std::function<bool(const std::string&)>& valid) = 0;
  // A list of scalars `valid` accepts, appended to `out`: an error `not_a_list` for anything
  // else, an error `message` for each item refused.
  virtual void Scalars(std::string_view key, std::string_view not_a_list, std::string_view message,
                       const std::function<bool(const std::string&)>& valid,
                       std::vector<std::string>* out) = 0;
  // A map within the section; null when the key is absent.
  virtual std::unique_ptr<SettingsReader> Section(std::string_view key) = 0;
  // `timeout` must not exceed `interval`: the round would overlap the next.
  virtual void TimeoutWithinInterval(std::chrono::milliseconds timeout,
                                     std::chrono::milliseconds interval) = 0;

  // One of `choices`, or an error `message` and nullopt.
  std::optional<std::string> Choice(std::string_view key,
                                    std::initializer_list<std::string_view> choices,
                                    std::string_view message) {
    return Scalar(key, message, [&](const std::string& v) {
      return std::find(choices.begin(), choices.end(), v) != choices.end();
    });
  }

  template <typename T>
  void Int(std::string_view key, T min, T max, T* out) {
    long long v = 0;
    if (IntInRange(key, min, max, &v)) {
      *out = static_cast<T>(v);
    }
  }

 protected:
  virtual bool IntInRange(std::string_view key, long long min, long long max, long long* out) = 0;
};

// What a round may know of the exporter: the clock, the shared settings and BIRD's last round.
class ProbeContext {
 public:
  virtual ~ProbeContext() = default;
  virtual const Clock& clock() const = 0;
  virtual int packets_per_second() const = 0;  // probes.packets_per_second, per prober.
  virtual std::uint16_t bgp_port() const = 0;  // probes.tcp.port: Calico's listenPort.
  // BIRD's BGP neighbours (scope suffixes dropped) and the static peers, once each.
  virtual std::vector<ProbeTarget> Targets() const = 0;
  // A session of BIRD's last round says "No listening socket".
  virtual bool BirdHasNoListeningSocket() const = 0;
};

struct Label {
  std::string name;
  std::string value;
};
using Labels = std::vector<Label>;

// One gauge family of the exposition.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  virtual void Add(Labels labels, double value) = 0;
};

// Where a prober writes its series (exporter/metrics implements it). Families come out in the
// order they are asked for; one without series is left out.
class MetricWriter {
 public:
  virtual ~MetricWriter() = default;
  virtual MetricFamily& Family(std::string name, std::string help) = 0;
  // Whether the probe series of one peer address are shown (metrics.sessions).
  virtual bool ShowPeer(const std::string& address) const = 0;
  // Whether `metrics.extra` asks for the series of that name (e.g. port_rtt).
  virtual bool Extra(std::string_view name) const = 0;
};

// One prober's round, with what it remembers between rounds (what it logged last). One per
// runner; Run is never called concurrently with itself.
class ProbeRound {
 public:
  virtual ~ProbeRound() = default;
  // `settings` is the prober's own type (from its DefaultSettings/ParseSettings).
  virtual std::shared_ptr<ProbeResult> Run(const ProbeSettings& settings,
                                           const ProbeContext& context) = 0;
};

// A probe kind: a stateless object of static storage, one row in the table.
class Prober {
 public:
  virtual ~Prober() = default;
  // The `probe` label, and the key of its config section.
  virtual std::string_view Name() const = 0;
  // Probes BIRD's peers: runs again at once when BIRD reports a peer for the first time.
  virtual bool ProbesPeers() const = 0;
  // Its config section is `<name>` at the top of the file rather than `probes.<name>`.
  virtual bool TopLevelSection() const { return false; }
  virtual std::shared_ptr<ProbeSettings> DefaultSettings() const = 0;
  // Reads the prober's config section into `settings` (from DefaultSettings).
  virtual void ParseSettings(SettingsReader& reader, ProbeSettings* settings) const = 0;
  virtual std::unique_ptr<ProbeRound> NewRound() const = 0;
  // The families of one result (from this prober's round), in exposition order.
  virtual void Expose(const ProbeResult& result, MetricWriter& out) const = 0;
};

// The typed half of a prober: `Settings` and `Result` derive from ProbeSettings and ProbeResult.
template <typename Settings, typename Result>
class ProberOf : public Prober {
 public:
  std::string_view Name() const final { return Settings::kProbe; }
  std::shared_ptr<ProbeSettings> DefaultSettings() const final {
    return std::make_shared<Settings>();
  }
  void ParseSettings(SettingsReader& reader, ProbeSettings* settings) const final {
    Parse(reader, static_cast<Settings*>(settings));
  }
  void Expose(const ProbeResult& result, MetricWriter& out) const final {
    ExposeResult(static_cast<const Result&>(result), out);
  }

 protected:
  static_assert(Settings::kProbe == Result::kProbe);
  virtual void Parse(SettingsReader& reader, Settings* settings) const = 0;
  virtual void ExposeResult(const Result& result, MetricWriter& out) const = 0;
};

// The typed half of a round.
template <typename Settings, typename Result>
class ProbeRoundOf : public ProbeRound {
 public:
  std::shared_ptr<ProbeResult> Run(const ProbeSettings& settings,
                                   const ProbeContext& context) final {
    return RunRound(static_cast<const Settings&>(settings), context);
  }

 protected:
  virtual std::shared_ptr<Result> RunRound(const Settings& settings,
                                           const ProbeContext& context) = 0;
};

// The table: every prober, in the order of the config's `probes` keys, the runner's tasks and
// the exposition (probe_table.cc).
std::span<const Prober* const> Probers();

// The index of the prober named `name` in Probers(), or Probers().size().
std::size_t ProberIndex(std::string_view name);

}  // namespace cbe::probes
