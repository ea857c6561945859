#pragma once

// The exposition text of the latest snapshot, rendered once per snapshot and shared by every
// scrape until the next round publishes: concurrent scrapers cost one rendering, and a scrape
// between two rounds only copies bytes. The gzip form is compressed once, on first demand.

#include <memory>
#include <mutex>
#include <string>

#include "exporter/snapshot.h"

namespace cbe {

class ExpositionCache {
 public:
  struct Rendered {
    std::string text;
    mutable std::once_flag gzip_once;
    mutable std::string gzip;
    const std::string& Gzip() const;  // Compressed on the first call.
  };

  explicit ExpositionCache(const SnapshotStore* store) : store_(store) {}

  std::shared_ptr<const Rendered> Get();

 private:
  const SnapshotStore* store_;
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // Held, so its address cannot be reused.
  std::shared_ptr<const Rendered> rendered_;
};

// gzip (RFC 1952) of `data`, fast level: the exposition compresses ~18:1 even so.
std::string GzipCompress(std::string_view data);

}  // namespace cbe
