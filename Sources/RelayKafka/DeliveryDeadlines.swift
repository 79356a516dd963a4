import DequeModule
import RelayPrimitives

/// The deadlines of callers waiting for delivery reports with a timeout, expired by the producer's
/// poll thread: a wait costs one queue entry, not a task and a timer each.
///
/// Waits almost always share one timeout (the relay's publish timeout), so deadlines arrive in
/// order: they are kept in a queue sorted by deadline, and an insertion walks back from the end
/// only past later deadlines (none, in the common case).
package final class DeliveryDeadlines: Sendable {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var waiterID: UInt64
        var future: DeliveryFuture
    }

    private let queue = Locked(Deque<Entry>())

    package init() {}

    /// Ends the wait `waiterID` of `future` at `deadline` if its report has not come by then.
    func add(_ deadline: ContinuousClock.Instant, future: DeliveryFuture, waiterID: UInt64) {
        let entry = Entry(deadline: deadline, waiterID: waiterID, future: future)
        queue.withLock { queue in
            var index = queue.endIndex
            while index > queue.startIndex, queue[index - 1].deadline > deadline { index -= 1 }
            queue.insert(entry, at: index)
        }
    }

    /// The earliest deadline, if any.
    package var next: ContinuousClock.Instant? {
        queue.withLock { $0.first?.deadline }
    }

    /// Ends every wait whose deadline has passed (waits already answered are left as they are).
    package func expireDue(now: ContinuousClock.Instant) {
        let due = queue.withLock { queue -> [Entry] in
            var due: [Entry] = []
            while let first = queue.first, first.deadline <= now { due.append(queue.removeFirst()) }
            return due
        }
        for entry in due { entry.future.expire(entry.waiterID) }
    }
}
