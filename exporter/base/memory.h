#pragma once

#include <cstddef>
#include <string_view>

namespace cbe {

// Sets the allocator up for a daemon whose work repeats: every BIRD round and every rendering
// of the exposition allocates and frees about the same few MB. Called once, first thing in
// main(). One arena (glibc would give each of the 64 web threads its own and keep each arena's
// peak); large blocks mapped and unmapped; the small blocks freed by one round stay in the heap
// for the next one to reuse. Giving them back after each round (malloc_trim) cost a page fault
// per page in the next round, most of a round's CPU (issue 19). The large blocks a round fills
// (its sessions, their diagnosis) are not left to malloc: base/recycler.h keeps them.
void ConfigureAllocator();

// Gives the free pages of every malloc arena back to the kernel. For work that does not repeat
// every few seconds and frees much more than it keeps (intent serve's model after a change).
void ReleaseFreeMemory();

// What ReleaseStartupPages did: the bytes of read-only segments it advised, and errno when the
// kernel refused (EINVAL before Linux 5.4, which has no MADV_PAGEOUT); 0 when it did not.
struct StartupPagesResult {
  std::size_t bytes = 0;
  int error = 0;
};

// Gives back the pages of code and read-only data that only start-up needed (issue 19). The
// dynamic linker reads every library's symbol tables and relocations once (libstdc++'s alone
// are 600 KiB), the config's parsing and yaml-cpp run once, and their pages stay resident for
// the process's life. After start-up and after each reload this asks the kernel to page out the
// read-only segments of every loaded object (MADV_PAGEOUT): it reclaims the pages only this
// process maps and leaves those shared with others (libc) alone. What the rounds and the scrapes
// run comes back from the file on first use, one page at a time (no read-ahead for these
// segments); start-up's pages stay out. Nothing is lost: the segments are the files' own bytes,
// and writable segments (relocated data, RELRO) are skipped. Linking with -z now (the top
// CMakeLists.txt) keeps the dynamic linker from reading its tables again at first calls.
StartupPagesResult ReleaseStartupPages();

// ReleaseStartupPages, and what it did at debug level ("after" names the moment: start-up,
// reload). For the daemon and `intent serve` alike.
void GiveBackStartupPages(std::string_view after);

}  // namespace cbe
