import Foundation
import RelayPrimitives
import Testing

@Suite("Locked values")
struct LockedTests {
    /// Four threads, started together, each add 1 to the value 100 000 times, every step a read,
    /// a pause and a write under the lock: without mutual exclusion increments overwrite each other
    /// and the total falls short.
    @Test("Threads that update the value under its lock lose none of each other's updates")
    func updatesAreExclusive() async {
        let counter = Locked(0)
        let threads = 4
        let increments = 100_000
        let start = DispatchSemaphore(value: 0)
        // The test waits without holding one of the few threads Swift's tasks share.
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            let remaining = Locked(threads)
            for _ in 0..<threads {
                Thread {
                    start.wait()
                    for _ in 0..<increments {
                        counter.withLock { value in
                            let read = value
                            for _ in 0..<8 { pause() }
                            value = read + 1
                        }
                    }
                    let left = remaining.withLock { count -> Int in
                        count -= 1
                        return count
                    }
                    if left == 0 { finished.resume() }
                }.start()
            }
            for _ in 0..<threads { start.signal() }
        }
        #expect(counter.withLock { $0 } == threads * increments)
    }

    /// Time between the read and the write that the optimiser cannot remove.
    @inline(never)
    private func pause() { _ = ProcessInfo.processInfo.systemUptime }

    struct Refused: Error, Equatable {}

    @Test("A body's result comes back, its error is thrown typed, and the lock is free again after either")
    func resultsAndErrors() {
        let names = Locked(["a"])
        #expect(
            names.withLock {
                $0.append("b")
                return $0.count
            } == 2
        )
        #expect(throws: Refused.self) {
            try names.withLock { (_: inout [String]) throws(Refused) in throw Refused() }
        }
        #expect(names.withLock { $0 } == ["a", "b"])
    }
}
