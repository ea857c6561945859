#include "exporter/exposition_cache.h"

#include <zlib.h>

#include "exporter/collector.h"

namespace cbe {

std::string GzipCompress(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

const std::string& ExpositionCache::Rendered::Gzip() const {
  std::call_once(gzip_once, [this] { gzip = GzipCompress(text); });
  return gzip;
}

std::shared_ptr<const ExpositionCache::Rendered> ExpositionCache::Get() {
  std::shared_ptr<const Snapshot> snapshot = store_->Get();
  std::lock_guard lock(mu_);
  if (snapshot != snapshot_ || !rendered_) {
    auto r = std::make_shared<Rendered>();
    r->text = SerializeSnapshot(*snapshot);
    rendered_ = std::move(r);
    snapshot_ = std::move(snapshot);
  }
  return rendered_;
}

}  // namespace cbe
