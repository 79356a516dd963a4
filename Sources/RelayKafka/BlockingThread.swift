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

    /// Starts `body` on a new detached thread.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}
