// ParseProcNetTcp on arbitrary /proc/net/tcp{,6} text.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/listener_probe.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto table = cbe::probes::ParseProcNetTcp(text);
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  FUZZ_CHECK(table.entries.size() + table.malformed_lines <= lines);
  (void)cbe::probes::HasListener(table, 179);
  return 0;
}
