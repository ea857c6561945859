#include "exporter/core/probe_table.h"

#include <array>

#include "exporter/core/bird_round.h"
#include "exporter/core/intent_round.h"
#include "exporter/core/probe_rounds.h"

namespace cbe {
namespace {

// The functions of one row, from its part of the snapshot and the round that produces it.
template <typename Part, std::shared_ptr<const Part> Snapshot::*kPart>
struct Row {
  static void Clear(SnapshotStore* store) { store->Clear(kPart); }
  static const ProbeRun* LastRun(const Snapshot& s) {
    const auto& part = s.*kPart;
    return part ? &part->run : nullptr;
  }
};

bool Always(const Config&) { return true; }

using TcpRow = Row<TcpSnapshot, &Snapshot::tcp>;
using IcmpRow = Row<IcmpSnapshot, &Snapshot::icmp>;
using MtuRow = Row<MtuSnapshot, &Snapshot::mtu>;
using ListenerRow = Row<ListenerSnapshot, &Snapshot::listener>;
using ClockRow = Row<ClockSnapshot, &Snapshot::clock>;
using BirdRow = Row<BirdSnapshot, &Snapshot::bird>;
using IntentRow = Row<IntentSnapshot, &Snapshot::intent>;

const std::array<ProbeKind, 7> kKinds = {{
    {"bird", Always, [](const Config& c) { return c.bird.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::bird, r.bird->Run()); },
     BirdRow::Clear, BirdRow::LastRun, true, false},
    {"tcp", [](const Config& c) { return c.probes.tcp.enabled; },
     [](const Config& c) { return c.probes.tcp.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::tcp, r.probes->RunTcp()); },
     TcpRow::Clear, TcpRow::LastRun, false, true},
    {"icmp", [](const Config& c) { return c.probes.icmp.enabled; },
     [](const Config& c) { return c.probes.icmp.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::icmp, r.probes->RunIcmp()); },
     IcmpRow::Clear, IcmpRow::LastRun, false, true},
    {"mtu", [](const Config& c) { return c.probes.mtu.enabled; },
     [](const Config& c) { return c.probes.mtu.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::mtu, r.probes->RunMtu()); },
     MtuRow::Clear, MtuRow::LastRun, false, true},
    {"listener", [](const Config& c) { return c.probes.listener.enabled; },
     [](const Config& c) { return c.probes.listener.interval; },
     [](const Rounds& r, SnapshotStore* s) {
       s->Publish(&Snapshot::listener, r.probes->RunListener());
     },
     ListenerRow::Clear, ListenerRow::LastRun, false, false},
    {"clock", Always, [](const Config& c) { return c.clock.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::clock, r.probes->RunClock()); },
     ClockRow::Clear, ClockRow::LastRun, false, true},
    {"intent", [](const Config& c) { return c.intent.enabled(); },
     [](const Config& c) { return c.intent.interval; },
     [](const Rounds& r, SnapshotStore* s) { s->Publish(&Snapshot::intent, r.intent->Run()); },
     IntentRow::Clear, IntentRow::LastRun, false, false},
}};

}  // namespace

std::span<const ProbeKind> ProbeKinds() { return kKinds; }

}  // namespace cbe
