#pragma once

namespace cbe {

// Gives the free pages of every malloc arena back to the kernel. A BIRD round and a rendering of
// the exposition at 1000 peers allocate and free several MB; glibc returns freed memory only
// from the top of a heap, so without this the process keeps the peak of every arena for good.
// Costs well under a millisecond at that size; called after each round and each rendering.
void ReleaseFreeMemory();

}  // namespace cbe
