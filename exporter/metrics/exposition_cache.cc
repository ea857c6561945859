#include "exporter/metrics/exposition_cache.h"

#include <zlib.h>

#include "exporter/metrics/exposition.h"

namespace cbe {

GzipStream::GzipStream() {
  // A 4 KiB window (windowBits 12, + 16: a gzip header and trailer) and memLevel 5: the
  // compressor's state is 32 KiB instead of zlib's default 256 KiB, allocated at every
  // rendering. The exposition's repeats are a line or two apart, so the smaller window loses
  // nothing: at the fast level the output is even smaller (fewer hash collisions; the bench's
  // gzip bytes per scrape). Any gzip reader takes it.
  initialized_ =
      deflateInit2(&z_, Z_BEST_SPEED, Z_DEFLATED, 12 + 16, 5, Z_DEFAULT_STRATEGY) == Z_OK;
  ok_ = initialized_;
}

GzipStream::~GzipStream() {
  if (initialized_) {
    deflateEnd(&z_);
  }
}

bool GzipStream::Deflate(std::string_view data, int flush) {
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z_.avail_in = static_cast<uInt>(data.size());
  std::string& chunk = chunk_;  // On the heap: civetweb's worker stacks are 100 KiB.
  chunk.resize(16 * 1024);
  int rc = Z_OK;
  do {
    z_.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z_.avail_out = static_cast<uInt>(chunk.size());
    rc = deflate(&z_, flush);
    if (rc == Z_STREAM_ERROR) {
      return false;
    }
    out_.append(chunk.data(), chunk.size() - z_.avail_out);
  } while (z_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  return z_.avail_in == 0;
}

void GzipStream::Write(std::string_view data) {
  if (ok_ && !data.empty()) {
    ok_ = Deflate(data, Z_NO_FLUSH);
  }
}

std::string GzipStream::Finish() {
  if (!ok_ || !Deflate({}, Z_FINISH)) {
    ok_ = false;
    return {};
  }
  std::string out = std::move(out_);
  out.shrink_to_fit();
  return out;
}

std::string GzipCompress(std::string_view data) {
  GzipStream gz;
  gz.Write(data);
  return gz.Finish();
}

bool GzipInflate(std::string_view data, const std::function<bool(std::string_view)>& write) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) {
    return false;
  }
  // On the heap: this runs on civetweb's worker threads, whose stacks are 100 KiB.
  std::string chunk(64 * 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  bool ok = true;
  while (ok && rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = chunk.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END) {
      ok = false;
    } else if (produced > 0) {
      ok = write(std::string_view(chunk.data(), produced));
    } else if (rc == Z_OK && z.avail_in == 0) {
      ok = false;  // Truncated: no input left and the stream has not ended.
    }
  }
  inflateEnd(&z);
  return ok && rc == Z_STREAM_END;
}

bool ExpositionCache::Rendered::WriteText(
    const std::function<bool(std::string_view)>& write) const {
  if (gzip.empty()) {
    return write(text);
  }
  return GzipInflate(gzip, write);
}

std::shared_ptr<const ExpositionCache::Rendered> ExpositionCache::Get() {
  std::shared_ptr<const Snapshot> snapshot = store_->Get();
  std::lock_guard lock(mu_);
  if (snapshot->generation != generation_ || !rendered_) {
    auto r = std::make_shared<Rendered>();
    // Rendered straight into the compressor a few samples at a time (exposition.h): the whole
    // text never exists.
    GzipStream gz;
    RenderSnapshot(*snapshot, [&](std::string_view text) {
      r->text_size += text.size();
      gz.Write(text);
    });
    r->gzip = gz.Finish();
    if (r->gzip.empty()) {
      r->text = SerializeSnapshot(*snapshot);  // Not expected: zlib failed. Serve it plain.
      r->text_size = r->text.size();
    }
    rendered_ = std::move(r);
    generation_ = snapshot->generation;
  }
  return rendered_;
}

}  // namespace cbe
