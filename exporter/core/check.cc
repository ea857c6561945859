#include "exporter/core/check.h"

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "exporter/base/duration.h"
#include "exporter/core/bird_round.h"
#include "exporter/core/calico_node.h"
#include "exporter/core/diagnosis.h"
#include "exporter/core/intent_round.h"
#include "exporter/core/probe_rounds.h"
#include "exporter/core/probe_table.h"
#include "probes/net/stream.h"

namespace cbe {
namespace {

std::string Age(const std::optional<double>& since, double now) {
  return since ? FormatAge(now - *since) : "";
}

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(width[i] - row[i].size() + 2, ' ');
      }
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

bool AllHealthy(const Snapshot& snapshot) {
  if (!snapshot.bird) {
    return false;
  }
  for (const auto& d : snapshot.bird->daemons) {
    if (!d.up) {
      return false;
    }
  }
  if (snapshot.diagnosis) {
    for (const auto& p : snapshot.diagnosis->peers) {
      if (p.diagnosis.cause != Cause::kHealthy) {
        return false;
      }
    }
  }
  return true;
}

std::string FormatCheckTable(const Snapshot& snapshot, double now) {
  std::ostringstream out;
  if (!snapshot.bird) {
    return "no BIRD round ran\n";
  }
  for (const auto& d : snapshot.bird->daemons) {
    if (d.up) {
      out << "BIRD " << d.daemon << " (" << d.socket << "): " << d.version << ", router ID "
          << d.router_id << ", " << d.peers.size() << " BGP sessions\n";
    } else {
      out << "BIRD " << d.daemon << " (" << d.socket << "): DOWN: " << d.error << "\n";
    }
  }
  if (!snapshot.diagnosis || snapshot.diagnosis->peers.empty()) {
    out << "\nno BGP sessions\n";
    return out.str();
  }
  std::vector<std::vector<std::string>> rows = {
      {"DAEMON", "PROTOCOL", "PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "CAUSE"}};
  for (const auto& p : snapshot.diagnosis->peers) {
    const bool missing = p.diagnosis.cause == Cause::kSessionMissing;
    std::string state = missing ? "(not in BIRD)" : p.state.empty() ? "?" : p.state.str();
    rows.push_back({p.daemon.str(), p.protocol.str(), p.peer.str(), p.peer_type.str(), state,
                    Age(p.state_change_timestamp, now), std::string(CauseName(p.diagnosis.cause))});
  }
  out << "\n" << Table(rows);
  bool header = false;
  for (const auto& p : snapshot.diagnosis->peers) {
    if (p.diagnosis.cause == Cause::kHealthy) {
      continue;
    }
    if (!header) {
      out << "\nNEXT STEPS\n";
      header = true;
    }
    out << "\n"
        << p.protocol << " (" << p.peer << "): " << CauseName(p.diagnosis.cause) << "\n"
        << "  evidence:  " << p.diagnosis.evidence << "\n"
        << "  next step: " << NextStep(p.diagnosis.cause) << "\n";
  }
  return out.str();
}

std::string FormatCheckJson(const Snapshot& snapshot, double now) {
  nlohmann::json j;
  j["healthy"] = AllHealthy(snapshot);
  j["time"] = now;
  j["daemons"] = nlohmann::json::array();
  if (snapshot.bird) {
    for (const auto& d : snapshot.bird->daemons) {
      nlohmann::json dj = {{"daemon", d.daemon}, {"socket", d.socket}, {"up", d.up}};
      if (d.up) {
        dj["version"] = d.version;
        dj["router_id"] = d.router_id;
      } else {
        dj["error"] = d.error;
      }
      j["daemons"].push_back(std::move(dj));
    }
  }
  j["peers"] = nlohmann::json::array();
  if (snapshot.diagnosis) {
    for (const auto& p : snapshot.diagnosis->peers) {
      nlohmann::json pj = {{"daemon", p.daemon},
                           {"protocol", p.protocol},
                           {"peer", p.peer},
                           {"peer_type", p.peer_type},
                           {"state", p.state},
                           {"last_error", p.last_error},
                           {"cause", CauseName(p.diagnosis.cause)},
                           {"evidence", p.diagnosis.evidence},
                           {"next_step", NextStep(p.diagnosis.cause)}};
      if (p.state_change_timestamp) {
        pj["state_change_timestamp"] = *p.state_change_timestamp;
      }
      j["peers"].push_back(std::move(pj));
    }
  }
  return j.dump(2) + "\n";
}

std::string FormatCauseList(CheckOutput output) {
  if (output == CheckOutput::kJson) {
    nlohmann::json j = nlohmann::json::array();
    for (const Cause cause : AllCauses()) {
      j.push_back({{"cause", CauseName(cause)},
                   {"runbook_anchor", "cause-" + std::string(CauseName(cause))},
                   {"next_step", NextStep(cause)}});
    }
    return j.dump(2) + "\n";
  }
  std::ostringstream out;
  for (const Cause cause : AllCauses()) {
    out << CauseName(cause) << "\n  " << NextStep(cause) << "\n";
  }
  return out.str();
}

int RunCheck(const Config& config, CheckOutput output, std::ostream& out) {
  SystemClock clock;
  net::UnixStreamConnector connector(&clock);
  SnapshotStore store;
  const DiagnosisOptions options = DiagnosisOptionsFor(config);
  store.SetDeriver([&](Snapshot* s) {
    s->diagnosis = DeriveDiagnosis(*s, options, ToUnixSeconds(clock.Now()));
  });
  BirdRound bird(config.bird, &connector, &clock);
  ProbeRounds probes(config, &store, &clock);
  IntentRound intent(config.intent, config.node_name, &clock);
  const Rounds rounds{&bird, &probes, &intent};
  // The kinds that find peers first, then every other enabled kind at the same time.
  std::vector<std::future<void>> running;
  for (const bool discovery : {true, false}) {
    for (const ProbeKind& kind : ProbeKinds()) {
      if (kind.discovers_peers == discovery && kind.enabled(config)) {
        running.push_back(
            std::async(std::launch::async, [&kind, &rounds, &store] { kind.run(rounds, &store); }));
      }
    }
    for (auto& r : running) {
      r.get();
    }
    running.clear();
  }
  const auto snapshot = store.Get();
  const double now = ToUnixSeconds(clock.Now());
  out << (output == CheckOutput::kJson
              ? FormatCheckJson(*snapshot, now)
              : FormatCheckTable(*snapshot, now) + CalicoNodeHintHere(*snapshot));
  return AllHealthy(*snapshot) ? kCheckHealthy : kCheckUnhealthy;
}

}  // namespace cbe
