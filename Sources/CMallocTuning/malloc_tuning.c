#include "malloc_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void relay_fix_mmap_threshold(int bytes) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
#endif
}
