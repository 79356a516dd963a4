#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value that several threads share, reached only while holding its lock.
///
/// The lock is a `pthread_mutex_t`. The standard library's `Synchronization.Mutex` does the same
/// job, but on Linux it locks through a futex in code the thread sanitizer does not instrument, so
/// the sanitizer sees no order between two threads' accesses and reports every one it guards as a
/// race. The sanitizer intercepts `pthread_mutex_lock`, so with this lock it reports only real
/// races (`make tsan`). The API is `Mutex`'s: `withLock`, with the value passed `inout sending`.
public final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // Both live at fixed addresses for the lock's lifetime: a pthread mutex must not move, and the
    // value is reached only under it (which is why the class is `@unchecked Sendable`).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    public init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
        value = .allocate(capacity: 1)
        value.initialize(to: initialValue)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock. `body` must not take this lock again.
    public func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
