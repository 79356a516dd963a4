#include "process_tuning.h"

#include <dlfcn.h>
#include <stddef.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void relay_fix_malloc_thresholds(int mmap_threshold, int trim_threshold) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
#else
    (void)mmap_threshold;
    (void)trim_threshold;
#endif
}

bool relay_install_global_enqueue_hook(const void *hook) {
    void *process = dlopen(NULL, RTLD_NOW);
    if (process == NULL) {
        return false;
    }
    const void **slot = dlsym(process, "swift_task_enqueueGlobal_hook");
    if (slot == NULL) {
        return false;
    }
    const void *expected = NULL;
    return __atomic_compare_exchange_n(slot, &expected, hook, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
