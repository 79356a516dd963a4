#ifndef RELAY_PROCESS_TUNING_H
#define RELAY_PROCESS_TUNING_H

#include <stdbool.h>

/// Fixes glibc's mmap threshold at `bytes` (it otherwise rises as large blocks are freed, after
/// which large transient buffers fragment the heap). Does nothing on other C libraries.
void relay_fix_mmap_threshold(int bytes);

/// Sets the Swift runtime's `swift_task_enqueueGlobal_hook` to `hook` if the runtime has one and
/// no other hook is set (one atomic compare-and-exchange). Returns whether it did.
bool relay_install_global_enqueue_hook(const void *hook);

#endif
