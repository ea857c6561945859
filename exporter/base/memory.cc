#include "exporter/base/memory.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>  // Defines __GLIBC__ on glibc.
#include <cstring>
#include <string>

#include "exporter/base/logging.h"

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

StartupPagesResult ReleaseStartupPages() {
#if defined(MADV_PAGEOUT)
  struct Walk {
    std::uintptr_t page = 0;
    std::uintptr_t vdso = 0;
    StartupPagesResult result;
  } walk;
  walk.page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  walk.vdso = static_cast<std::uintptr_t>(getauxval(AT_SYSINFO_EHDR));
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* w = static_cast<Walk*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) {
            continue;
          }
          const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (w->vdso != 0 && start <= w->vdso && w->vdso < start + ph.p_memsz) {
            break;  // the kernel's vDSO: no file behind it
          }
          // Whole pages only: a page shared with a writable segment holds relocated data.
          const std::uintptr_t first = (start + w->page - 1) & ~(w->page - 1);
          const std::uintptr_t end = (start + ph.p_memsz) & ~(w->page - 1);
          if (end <= first) {
            continue;
          }
          void* const addr = reinterpret_cast<void*>(first);
          // No read-ahead when a page comes back: each page a round needs would otherwise bring
          // its neighbours (128 KiB) back in with it, start-up's among them. A hint only.
          madvise(addr, end - first, MADV_RANDOM);
          if (madvise(addr, end - first, MADV_PAGEOUT) != 0) {
            w->result.error = errno;
            return 1;  // the same answer for every segment: stop
          }
          w->result.bytes += end - first;
        }
        return 0;
      },
      &walk);
  return walk.result;
#else
  return {0, EINVAL};
#endif
}

void GiveBackStartupPages(std::string_view after) {
  const StartupPagesResult released = ReleaseStartupPages();
  if (released.error != 0) {
    logging::Debug("read-only pages not paged out after " + std::string(after),
                   {{"err", std::strerror(released.error)}});
    return;
  }
  logging::Debug("read-only pages paged out after " + std::string(after),
                 {{"bytes", std::to_string(released.bytes)}});
}

}  // namespace cbe
