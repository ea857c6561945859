#include "exporter/base/memory.h"

#include <cstdlib>  // Defines __GLIBC__ on glibc.

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Under AddressSanitizer the heap is ASan's, not glibc's: glibc's trim has nothing to give back,
// and two threads trimming first at once race in glibc's lazy initialisation of the heap it does
// not use (a SEGV in mtrim seen in the ASan suite, in `intent serve`'s threads).
#if defined(__SANITIZE_ADDRESS__)
#define CBE_FOREIGN_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CBE_FOREIGN_HEAP 1
#endif
#endif

namespace cbe {

void ConfigureAllocator() {
#if defined(__GLIBC__)
  // An operator's MALLOC_* environment stands (glibc reads it before main).
  const auto unless_set = [](const char* env, int param, int value) {
    if (std::getenv(env) == nullptr) {
      mallopt(param, value);
    }
  };
  // One arena: threads that allocate (the rounds, a scrape that renders) share one heap
  // instead of each keeping its own peak; they rarely allocate at the same moment.
  unless_set("MALLOC_ARENA_MAX", M_ARENA_MAX, 1);
  // Blocks of 128 KiB and more (a round's vector of 1000 peers, the parser's, the rendering's
  // buffers) are mapped and unmapped each time: glibc's default raises this threshold to the
  // largest block freed, after which they stay in the heap at their peak. Fixed, the heap only
  // holds small blocks, which the next round reuses; its top goes back above 128 KiB free.
  unless_set("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, 128 * 1024);
  unless_set("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

void ReleaseFreeMemory() {
#if defined(__GLIBC__) && !defined(CBE_FOREIGN_HEAP)
  malloc_trim(0);
#endif
}

}  // namespace cbe
