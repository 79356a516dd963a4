#ifndef RELAY_MALLOC_TUNING_H
#define RELAY_MALLOC_TUNING_H

/// Fixes glibc's mmap threshold at `bytes` (it otherwise rises as large blocks are freed, after
/// which large transient buffers fragment the heap). Does nothing on other C libraries.
void relay_fix_mmap_threshold(int bytes);

#endif
