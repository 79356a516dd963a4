import CMallocTuning
import NIOCore
import NIOPosix

/// Process-wide settings for a long-running relay, applied by the executable at start.
public enum ProcessTuning {
    /// glibc raises its mmap threshold each time a large block is freed; after that, large transient
    /// buffers (megabyte bodies, write batches) come from the heap and fragment it, and the resident
    /// size creeps up. A fixed threshold keeps them mapped, so freeing one returns its memory.
    public static func fixMallocThreshold() {
        relay_fix_mmap_threshold(256 * 1024)
    }

    /// Runs Swift Concurrency's tasks on the HTTP server's event loops instead of a separate thread
    /// pool, so a request is read, verified, published and answered without switching threads.
    /// Nothing in the relay blocks a task's thread (blocking Kafka calls have threads of their own).
    ///
    /// Call it first thing in `main`, before any task has been started.
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
