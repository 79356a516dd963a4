import Synchronization

/// The outcome of producing one record: where the broker stored it, or why it was not stored.
public typealias DeliveryResult = Result<KafkaAck, KafkaError>

/// The eventual delivery report of one produced record.
///
/// librdkafka reports every message exactly once (delivered, failed, timed out or purged), so a
/// future always completes unless the process dies. A caller may stop waiting early (a publish
/// timeout) and still learn the outcome later through ``whenComplete(_:)``: that is how the relay
/// avoids publishing twice an event whose first copy is acknowledged after it was buffered.
public final class DeliveryFuture: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<DeliveryResult?, Never>
    }

    private struct Pending {
        var waiters: [UInt64: Waiter] = [:]
        var callbacks: [@Sendable (DeliveryResult) -> Void] = []
        var nextWaiterID: UInt64 = 0
    }

    private enum State {
        case pending(Pending)
        case completed(DeliveryResult)
    }

    private let state = Mutex(State.pending(Pending()))
    /// Where timed waits register their deadlines: the producer's one timer thread, so a wait costs
    /// no task or timer of its own.
    private let deadlines: DeliveryDeadlines

    init(deadlines: DeliveryDeadlines) {
        self.deadlines = deadlines
    }

    /// The outcome if the report has arrived.
    public var result: DeliveryResult? {
        state.withLock { state in
            if case .completed(let result) = state { return result }
            return nil
        }
    }

    /// Waits for the delivery report, at most `timeout` if one is given; `nil` if it has not arrived by
    /// then or the task was cancelled. The record stays in flight either way.
    public func value(timeout: Duration? = nil) async -> DeliveryResult? {
        if let result { return result }
        if let timeout, timeout <= .zero { return nil }
        let waiterID = state.withLock { state -> UInt64 in
            guard case .pending(var pending) = state else { return 0 }
            pending.nextWaiterID += 1
            state = .pending(pending)
            return pending.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DeliveryResult?, Never>) in
                let immediate: DeliveryResult?? = state.withLock { state in
                    switch state {
                    case .completed(let result):
                        return .some(result)
                    case .pending(var pending):
                        if Task.isCancelled { return .some(nil) }
                        pending.waiters[waiterID] = Waiter(continuation: continuation)
                        state = .pending(pending)
                        return .none
                    }
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                guard let timeout else { return }
                deadlines.add(.now.advanced(by: timeout), future: self, waiterID: waiterID)
            }
        } onCancel: {
            self.expire(waiterID)
        }
    }

    /// Runs `callback` once with the outcome: now if it is known, otherwise on the thread that delivers
    /// the report. The callback must be quick and must not block.
    public func whenComplete(_ callback: @escaping @Sendable (DeliveryResult) -> Void) {
        let known: DeliveryResult? = state.withLock { state in
            switch state {
            case .completed(let result):
                return result
            case .pending(var pending):
                pending.callbacks.append(callback)
                state = .pending(pending)
                return nil
            }
        }
        if let known { callback(known) }
    }

    /// Records the outcome and wakes every waiter. Later calls are ignored.
    func complete(_ result: DeliveryResult) {
        let pending: Pending? = state.withLock { state in
            guard case .pending(let pending) = state else { return nil }
            state = .completed(result)
            return pending
        }
        guard let pending else { return }
        for waiter in pending.waiters.values { waiter.continuation.resume(returning: result) }
        for callback in pending.callbacks { callback(result) }
    }

    /// Ends one wait with `nil` (its timeout passed or its task was cancelled).
    func expire(_ waiterID: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard case .pending(var pending) = state else { return nil }
            let waiter = pending.waiters.removeValue(forKey: waiterID)
            state = .pending(pending)
            return waiter
        }
        waiter?.continuation.resume(returning: nil)
    }
}
