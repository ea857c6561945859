#include "exporter/core/probe_rounds.h"

#include <algorithm>

#include "probes/tcp_syn_probe.h"

namespace cbe {

std::vector<ProbeTarget> ProbeTargets(const Snapshot& snapshot,
                                      const std::vector<StaticPeer>& static_peers) {
  // Every address with the order it was first seen, sorted to merge the duplicates (runs every
  // BIRD round over every session: a sorted vector, not a map of a thousand nodes).
  struct Seen {
    net::IpAddress ip;
    std::size_t first;
    bool established;
  };
  std::vector<Seen> seen;
  const auto add = [&](std::string_view address, bool established) {
    address = address.substr(0, address.find('%'));
    if (auto ip = net::IpAddress::Parse(address)) {
      seen.push_back(Seen{*ip, seen.size(), established});
    }
  };
  if (snapshot.bird) {
    for (const DaemonSnapshot& d : snapshot.bird->daemons) {
      for (const PeerSnapshot& p : d.peers) {
        add(p.peer, p.up);
      }
    }
  }
  for (const StaticPeer& p : static_peers) {
    add(p.address, false);
  }
  std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) {
    return a.ip != b.ip ? a.ip < b.ip : a.first < b.first;
  });
  std::vector<Seen> unique;
  unique.reserve(seen.size());
  for (const Seen& s : seen) {
    if (!unique.empty() && unique.back().ip == s.ip) {
      unique.back().established = unique.back().established || s.established;
    } else {
      unique.push_back(s);
    }
  }
  std::sort(unique.begin(), unique.end(),
            [](const Seen& a, const Seen& b) { return a.first < b.first; });
  std::vector<ProbeTarget> out;
  out.reserve(unique.size());
  for (const Seen& s : unique) {
    out.push_back(ProbeTarget{s.ip, s.established});
  }
  return out;
}

ProbeRounds::ProbeRounds(Config config, const SnapshotStore* store, const Clock* clock)
    : config_(std::move(config)), store_(store), clock_(clock) {
  for (const probes::Prober* p : probes::Probers()) {
    rounds_.push_back(p->NewRound());
  }
}

std::vector<ProbeTarget> ProbeRounds::Targets() const {
  return ProbeTargets(*store_->Get(), config_.static_peers);
}

std::uint16_t ProbeRounds::bgp_port() const {
  return config_.probes.Get<probes::TcpSettings>().port;
}

std::shared_ptr<const probes::ProbeResult> ProbeRounds::Run(std::size_t prober) {
  const auto start = clock_->Monotonic();
  std::shared_ptr<probes::ProbeResult> result =
      rounds_[prober]->Run(config_.probes.settings(prober), *this);
  // The prober decided `success`; the rest of the self-metrics are the same for every prober.
  result->run.probe = std::string(probes::Probers()[prober]->Name());
  result->run.duration_seconds = std::chrono::duration<double>(clock_->Monotonic() - start).count();
  result->run.last_run_timestamp = ToUnixSeconds(clock_->Now());
  return result;
}

bool ProbeRounds::BirdHasNoListeningSocket() const {
  const auto snapshot = store_->Get();
  if (!snapshot->bird) {
    return false;
  }
  for (const DaemonSnapshot& d : snapshot->bird->daemons) {
    for (const PeerSnapshot& p : d.peers) {
      if (p.last_error.kind == bird::ErrorKind::kNoListeningSocket) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace cbe
