#pragma once

// The exposition text of a snapshot: what GET /metrics serves, through the exposition cache
// (exposition_cache.h), the one path that renders it. exporter/metrics is the only layer that
// knows prometheus-cpp, and uses only its text serializer. The text is rendered fresh for each
// new snapshot, so series of vanished peers vanish with the next snapshot.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "exporter/core/snapshot.h"

namespace cbe {

// Samples per family held as objects while rendering (families.h, Family). 0: whole families.
// The families of an area are open together while its builder runs, so this many samples of
// each (labels and all) are alive together, and the heap keeps that peak: small (issue 19).
constexpr std::size_t kRenderChunk = 32;

// The exposition text of one snapshot, handed to `sink` piece by piece in order (families
// without series left out). A family's text goes out as it is serialized once every family
// before it is complete, and is held until then: the BIRD area's session families are filled
// one after the other, so the rendering never holds the whole text (families.h).
void RenderSnapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& sink,
                    std::size_t chunk = kRenderChunk);

// The exposition text of one snapshot.
std::string SerializeSnapshot(const Snapshot& snapshot, std::size_t chunk = kRenderChunk);

// "gcc-12.2.0", "clang-14.0.6": for calico_bgp_exporter_build_info and --version.
std::string CompilerName();

}  // namespace cbe
