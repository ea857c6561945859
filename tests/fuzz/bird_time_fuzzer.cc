// ParseBirdTime on arbitrary text, and ResolveBirdTime on any two times BIRD could print,
// observed at any moment from 1970 to 2200.
//
// Input: 5 bytes of observation time (big endian seconds), BIRD's server time, '|', the time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/bird/bird_time.h"
#include "tests/fuzz/fuzz_check.h"

namespace bird = cbe::bird;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) {
    return 0;
  }
  std::int64_t observed_s = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    observed_s = observed_s << 8 | data[i];
  }
  observed_s %= 7258118400;  // 2200-01-01.
  std::string_view rest(reinterpret_cast<const char*>(data + 5), size - 5);
  const std::size_t bar = rest.find('|');
  const std::string_view server_text = rest.substr(0, bar);
  const std::string_view text = bar == std::string_view::npos ? rest : rest.substr(bar + 1);

  const auto t = bird::ParseBirdTime(text);
  if (t && t->kind == bird::BirdTime::Kind::kTimeOfDay) {
    FUZZ_CHECK(t->value.count() >= 0 &&
               t->value < std::chrono::hours(24) + std::chrono::seconds(1));
  }
  const auto server = bird::ParseBirdTime(server_text);
  if (t && server) {
    const std::chrono::system_clock::time_point observed{std::chrono::seconds(observed_s)};
    const auto r = bird::ResolveBirdTime(*t, *server, observed);
    // Only "Current server time" anchors BIRD's clock: a date and a time, or a Unix time (the
    // connection asked for `timeformat "%s.%3f"`), and then every time of the reply is one.
    const bool unix_server = server->kind == bird::BirdTime::Kind::kUnix;
    FUZZ_CHECK(!r || server->kind == bird::BirdTime::Kind::kDateTime || unix_server);
    FUZZ_CHECK(!r || unix_server == (t->kind == bird::BirdTime::Kind::kUnix));
    if (r && t->kind == bird::BirdTime::Kind::kTimeOfDay) {
      // A time of day lies within the day before BIRD's clock (and a second of jitter).
      const auto ahead = r->at - observed;
      FUZZ_CHECK(ahead <= std::chrono::seconds(1) && ahead > -std::chrono::hours(24));
    }
  }
  return 0;
}
