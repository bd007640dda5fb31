#include "rkhs/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace rkhs {

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace rkhs
