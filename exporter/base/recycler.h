#pragma once

// The large buffers a round fills, kept for the next round (issue 19). A round over 1000
// sessions fills a vector of ~640 KB of peers and one of ~250 KB of diagnoses. Freed with their
// snapshot, such blocks go back to the kernel (malloc maps blocks of 128 KiB and more on their
// own, base/memory.h), and the next round faulted each page in again: a quarter of a round's
// CPU. The snapshot gives its buffers back here instead when its last reader lets go, and the
// round after next fills them again.

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace cbe {

// Spare vectors of T: empty, their capacity kept. Thread-safe: the last reader of a snapshot,
// often a scrape's thread, gives its buffers back.
template <typename T>
class VectorRecycler {
 public:
  // `max_spare`: buffers kept at most (a round's snapshot is published while the one before is
  // still read, so two per buffer a round fills are enough).
  explicit VectorRecycler(std::size_t max_spare = 2) : max_spare_(max_spare) {}

  // An empty vector with room for at least `n` elements: the smallest spare that has it, else
  // the largest spare, grown. A spare more than twice as large as needed (and 64 elements) is
  // freed rather than kept going round: after the sessions shrink, so does the memory.
  std::vector<T> Take(std::size_t n) {
    std::vector<T> out;
    {
      std::lock_guard lock(mu_);
      auto best = spare_.end();
      for (auto it = spare_.begin(); it != spare_.end(); ++it) {
        if (it->capacity() >= n && (best == spare_.end() || it->capacity() < best->capacity())) {
          best = it;
        }
      }
      if (best == spare_.end()) {
        best = std::max_element(spare_.begin(), spare_.end(), [](const auto& a, const auto& b) {
          return a.capacity() < b.capacity();
        });
      }
      if (best != spare_.end()) {
        out = std::move(*best);
        spare_.erase(best);
      }
    }
    if (out.capacity() > 2 * n + 64) {
      std::vector<T>().swap(out);
    }
    out.reserve(n);
    return out;
  }

  // Keeps `v`'s buffer; its elements are destroyed here. With `max_spare` kept already, the
  // smallest of them and `v` is freed.
  void Give(std::vector<T>&& v) {
    std::vector<T> buffer = std::move(v);
    buffer.clear();
    if (buffer.capacity() == 0) {
      return;
    }
    std::lock_guard lock(mu_);
    if (spare_.size() < max_spare_) {
      spare_.push_back(std::move(buffer));
      return;
    }
    auto smallest =
        std::min_element(spare_.begin(), spare_.end(),
                         [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
    if (smallest != spare_.end() && smallest->capacity() < buffer.capacity()) {
      std::swap(*smallest, buffer);
    }
  }  // The smaller buffer, empty, is freed here.

  // The spare buffers' capacities, for tests.
  std::vector<std::size_t> SpareCapacities() const {
    std::lock_guard lock(mu_);
    std::vector<std::size_t> out;
    for (const auto& v : spare_) {
      out.push_back(v.capacity());
    }
    return out;
  }

 private:
  const std::size_t max_spare_;
  mutable std::mutex mu_;
  std::vector<std::vector<T>> spare_;
};

}  // namespace cbe
