#pragma once

// The exposition of the latest snapshot, rendered once per snapshot and shared by every scrape
// until the next round publishes: concurrent scrapers cost one rendering, and a scrape between
// two rounds only copies bytes. Only the gzip form is kept (Prometheus always asks for it; it is
// ~1/18 of the text): a scrape without gzip gets the text inflated on the fly, chunk by chunk.

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "exporter/core/snapshot.h"

namespace cbe {

class ExpositionCache {
 public:
  struct Rendered {
    std::string gzip;           // The exposition, gzip (RFC 1952).
    std::string text;           // Only if compressing failed; else empty.
    std::size_t text_size = 0;  // Size of the uncompressed exposition.
    // Writes the uncompressed exposition to `write` in chunks; stops at the first false.
    bool WriteText(const std::function<bool(std::string_view)>& write) const;
  };

  explicit ExpositionCache(const SnapshotStore* store) : store_(store) {}

  std::shared_ptr<const Rendered> Get();

 private:
  const SnapshotStore* store_;
  std::mutex mu_;
  std::uint64_t generation_ = 0;  // Of the snapshot rendered_ shows (0: none yet).
  std::shared_ptr<const Rendered> rendered_;
};

// A gzip (RFC 1952) compressor fed piece by piece, fast level.
class GzipStream {
 public:
  GzipStream();
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  void Write(std::string_view data);
  std::string Finish();  // The compressed bytes; empty if zlib failed.

 private:
  bool Deflate(std::string_view data, int flush);

  z_stream z_{};
  bool initialized_ = false;
  bool ok_ = false;
  std::string out_;
  std::string chunk_;
};

// gzip (RFC 1952) of `data`, fast level: the exposition compresses ~18:1 even so. Empty on
// failure.
std::string GzipCompress(std::string_view data);

// Inflates gzip `data` and hands the output to `write` in chunks of at most 64 KiB. False if
// `data` is not complete, valid gzip or `write` returned false.
bool GzipInflate(std::string_view data, const std::function<bool(std::string_view)>& write);

}  // namespace cbe
