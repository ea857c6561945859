// ParseShowStatus and the times the exporter resolves from it (reboot, reconfiguration).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/bird/parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace bird = cbe::bird;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view reply(reinterpret_cast<const char*>(data), size);
  auto st = bird::ParseShowStatus(reply);
  if (!st) {
    FUZZ_CHECK(!st.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(!st->version.empty());
  const std::chrono::system_clock::time_point observed{std::chrono::seconds(1795650000)};
  if (st->server_time) {
    for (const auto& t : {st->last_reboot, st->last_reconfiguration, st->server_time}) {
      if (t) {
        (void)bird::ResolveBirdTime(*t, *st->server_time, observed);
      }
    }
  }
  return 0;
}
