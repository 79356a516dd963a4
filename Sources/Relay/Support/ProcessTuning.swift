import CProcessTuning
import NIOCore
import NIOPosix

/// Process-wide settings for a long-running relay, applied by the executable at start.
public enum ProcessTuning {
    /// glibc raises its mmap threshold each time a large block is freed, up to 32 MiB. Pinned at
    /// 8 MiB, above the default body limit (5 MiB), bodies and archive frames come from the heap and
    /// are reused: a fresh mapping for each costs a 1 MiB request about 15% of its time in page
    /// faults and unmapping. Blocks of 8 MiB and more still get mappings of their own. The only
    /// large blocks that live long, the dedup table's generations, are mapped by the table itself
    /// (``MappedWords``), so they never leave holes in the heap.
    ///
    /// The trim threshold is pinned too, at 2 MiB. At glibc's default, 128 KiB, each time the blocks
    /// freed at the top of a heap added up to more than that, the heap gave those pages back and the
    /// next requests faulted them in again: 0.7–0.9 page faults a 16 KiB request, 0.02–0.3 at 2 MiB
    /// (2–6% less CPU a request). 1 MiB bodies still give theirs back now and then, which mostly
    /// keeps peak RSS where it was (130–135 MiB at 32 connections in three runs of four; 169 MiB
    /// with the 16 MiB that glibc's own rule, twice the mmap threshold, would pick).
    public static func fixMallocThreshold() {
        relay_fix_malloc_thresholds(8 * 1024 * 1024, 2 * 1024 * 1024)
    }

    /// Runs Swift Concurrency's tasks on the HTTP server's event loops instead of a separate thread
    /// pool, so a request is read, verified, published and answered without switching threads.
    /// Nothing in the relay blocks a task's thread (blocking Kafka calls have threads of their own).
    ///
    /// Each job runs as Swift's own global executor runs it: on the generic executor, the one every
    /// task outside an actor belongs to. NIO's
    /// `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()` runs it on the
    /// loop's serial executor instead; the runtime then takes every call into a nonisolated async
    /// function for a change of executor and sends the task back through the loop's queue, 25 to
    /// 40 times a request. Returns false, changing nothing, when the runtime has no hook, another
    /// one is installed, or the executor reference is not the two words this relies on.
    ///
    /// Call it first thing in `main`, before any task has been started.
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        guard MemoryLayout<UnownedSerialExecutor>.size == MemoryLayout<(UInt, UInt)>.size else { return false }
        let hook: GlobalEnqueueHook = { job, _ in
            // `any()` is the calling thread's loop when that is one of the group's, so a task that
            // suspends on a loop resumes on it.
            MultiThreadedEventLoopGroup.singleton.any().execute {
                job.runSynchronously(on: ProcessTuning.genericExecutor)
            }
        }
        return withUnsafeBytes(of: hook) { function in
            relay_install_global_enqueue_hook(function.load(as: UnsafeRawPointer.self))
        }
    }

    /// The runtime's `swift_task_enqueueGlobal_hook`: called with each job for the global executor
    /// and the runtime's own enqueue, which this hook never calls.
    private typealias GlobalEnqueueHook =
        @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// The generic executor, which Swift has no public name for: the runtime's
    /// `SerialExecutorRef::generic()`, two null words. `UnownedSerialExecutor` is a frozen wrapper
    /// of such a reference; ``runTasksOnEventLoops()`` checks its size before this is first read.
    private static let genericExecutor = unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)
}
