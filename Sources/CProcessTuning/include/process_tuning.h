#ifndef RELAY_PROCESS_TUNING_H
#define RELAY_PROCESS_TUNING_H

#include <stdbool.h>

/// Fixes glibc's mmap threshold (it otherwise rises as large blocks are freed, after which large
/// transient buffers fragment the heap) and its trim threshold (how much free memory a heap keeps
/// at its top before it gives pages back). Does nothing on other C libraries.
void relay_fix_malloc_thresholds(int mmap_threshold, int trim_threshold);

/// Sets the Swift runtime's `swift_task_enqueueGlobal_hook` to `hook` if the runtime has one and
/// no other hook is set (one atomic compare-and-exchange). Returns whether it did.
bool relay_install_global_enqueue_hook(const void *hook);

#endif
