// ParseConfig on arbitrary YAML: never throws, and every error names a message.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/config/config.h"
#include "probes/tcp_syn_probe.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const cbe::ConfigResult r = cbe::ParseConfig(yaml);
  for (const cbe::ConfigError& e : r.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.line >= 0 && e.column >= 0);
    (void)e.Format("fuzz.yml");
  }
  if (r.ok()) {
    const cbe::BirdConfig& b = r.config.bird;
    FUZZ_CHECK(b.interval.count() > 0 && b.timeout.count() > 0 && b.timeout <= b.interval);
    FUZZ_CHECK(b.max_reply_bytes > 0);
    for (const auto& s : b.sockets) {
      FUZZ_CHECK(!s.empty() && s.front() == '/' && s.size() < 108);
      (void)cbe::DaemonName(s);
    }
    FUZZ_CHECK(r.config.probes.Get<cbe::probes::TcpSettings>().port >= 1);
  }
  return 0;
}
