import CSystemShims
import Foundation

/// Runs blocking librdkafka calls (poll, flush, metadata) on a thread of their own, so they never
/// occupy a thread of Swift's small cooperative pool.
enum BlockingThread {
    /// Runs `body` on a new thread and returns its result.
    static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            start(name: name) { continuation.resume(returning: body()) }
        }
    }

    /// Starts `body` on a new detached thread named `name` (as `top -H` and `perf` show it; Linux
    /// keeps 15 bytes of a name, and Foundation's `Thread.name` does not reach the system there).
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            relay_name_current_thread(name)
            body()
        }
        thread.start()
    }
}
