#pragma once

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

}  // namespace cbe
