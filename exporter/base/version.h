#pragma once

// The exporter's version and the git revision it was built from (calico_bgp_exporter_build_info,
// --version, the pages, the API client's User-Agent). Defined in the generated version.cc, which
// write_version.cmake writes on every build, not when cmake configures: a binary never names an
// older commit than the one it was built from.

namespace cbe {
extern const char* const kVersion;
extern const char* const kRevision;
}  // namespace cbe
