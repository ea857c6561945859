#include "exporter/base/memory.h"

#include <cstdlib>  // Defines __GLIBC__ on glibc.

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cbe {

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace cbe
