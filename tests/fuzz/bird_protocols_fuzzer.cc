// ParseShowProtocols (`show protocols [all]`, every BIRD flavour) and what the exporter derives
// from each protocol: peer type, last error class, session kind, the state change time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/bird/last_error.h"
#include "probes/bird/parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace bird = cbe::bird;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view reply(reinterpret_cast<const char*>(data), size);
  auto parsed = bird::ParseShowProtocols(reply);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(parsed->unparsed.lines > 0 || parsed->unparsed.first.empty());
  // BIRD's clock at the time of the fixtures, read at a fixed exporter time.
  const bird::BirdTime server_now{bird::BirdTime::Kind::kDateTime,
                                  std::chrono::milliseconds(1795675722000)};
  const std::chrono::system_clock::time_point observed{std::chrono::seconds(1795650000)};
  for (const bird::Protocol& p : parsed->protocols) {
    FUZZ_CHECK(!p.name.empty() && !p.proto.empty() && !p.state.empty());
    (void)bird::PeerTypeName(bird::PeerTypeFromName(p.name));
    const bird::LastError e = bird::ClassifyLastError(p.last_error);
    FUZZ_CHECK(e.message.size() <= p.last_error.size());
    FUZZ_CHECK(e.empty() == (e.kind == bird::ErrorKind::kNone));
    const std::string_view kind = bird::SessionKind(p);
    FUZZ_CHECK(kind.empty() || kind == "ibgp" || kind == "ebgp");
    if (p.since) {
      (void)bird::ResolveBirdTime(*p.since, server_now, observed);
    }
  }
  return 0;
}
