import HeapModule
import Synchronization

/// The deadlines of callers waiting for delivery reports with a timeout, kept in a heap and expired
/// by the producer's poll thread: a wait costs a heap insertion, not a task and a timer each.
final class DeliveryDeadlines: Sendable {
    private struct Entry: Comparable {
        var deadline: ContinuousClock.Instant
        var waiterID: UInt64
        var future: DeliveryFuture

        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.deadline < rhs.deadline }
        static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.deadline == rhs.deadline && lhs.waiterID == rhs.waiterID && lhs.future === rhs.future
        }
    }

    private let heap = Mutex(Heap<Entry>())

    /// Ends the wait `waiterID` of `future` at `deadline` if its report has not come by then.
    func add(_ deadline: ContinuousClock.Instant, future: DeliveryFuture, waiterID: UInt64) {
        heap.withLock { $0.insert(Entry(deadline: deadline, waiterID: waiterID, future: future)) }
    }

    /// The earliest deadline, if any.
    var next: ContinuousClock.Instant? {
        heap.withLock { $0.min?.deadline }
    }

    /// Ends every wait whose deadline has passed (waits already answered are left as they are).
    func expireDue(now: ContinuousClock.Instant) {
        let due = heap.withLock { heap -> [Entry] in
            var due: [Entry] = []
            while let first = heap.min, first.deadline <= now { due.append(heap.removeMin()) }
            return due
        }
        for entry in due { entry.future.expire(entry.waiterID) }
    }
}
