import RelayPrimitives

/// The outcome of producing one record: where the broker stored it, or why it was not stored.
public typealias DeliveryResult = Result<KafkaAck, KafkaError>

/// Where a caller waiting for a delivery report continues.
///
/// The poll thread hands a resumer every waiter of one batch of reports at once, so a batch costs
/// one wake-up of the caller's thread instead of one per record, and each waiter continues on the
/// thread it waited on (for the relay: the event loop of its HTTP connection).
public protocol DeliveryResumer: AnyObject, Sendable {
    /// Runs `work` soon on the resumer's thread, never before returning; must not block the caller.
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Whether the calling thread is the resumer's, so waiters can continue at once.
    var isCurrent: Bool { get }
}

extension DeliveryResumer {
    public var isCurrent: Bool { false }
}

/// The eventual delivery report of one produced record.
///
/// librdkafka reports every message exactly once (delivered, failed, timed out or purged), so a
/// future always completes unless the process dies. A caller may stop waiting early (a publish
/// timeout) and still learn the outcome later through ``whenComplete(_:)``: that is how the relay
/// avoids publishing twice an event whose first copy is acknowledged after it was buffered.
public final class DeliveryFuture: Sendable {
    fileprivate struct Waiter {
        var id: UInt64
        var continuation: UnsafeContinuation<DeliveryResult?, Never>
        var resumer: (any DeliveryResumer)?
    }

    private struct Pending {
        var waiters: [Waiter] = []
        var callbacks: [@Sendable (DeliveryResult) -> Void] = []
        var nextWaiterID: UInt64 = 0
    }

    private enum State {
        case pending(Pending)
        case completed(DeliveryResult)
    }

    private let state = Locked(State.pending(Pending()))
    /// Where timed waits register their deadlines: the producer's one timer thread, so a wait costs
    /// no task or timer of its own.
    private let deadlines: DeliveryDeadlines

    /// A future whose timed waits end when `deadlines` expires them (the producer's poll thread does;
    /// a test's publisher does it by hand).
    package init(deadlines: DeliveryDeadlines) {
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
    /// - Parameter resumer: where to continue when the report arrives; without one, the task is
    ///   resumed from the producer's poll thread onto the global executor.
    public func value(
        timeout: Duration? = nil,
        resumingOn resumer: (any DeliveryResumer)? = nil
    ) async
        -> DeliveryResult?
    {
        if let result { return result }
        if let timeout, timeout <= .zero { return nil }
        let waiterID = state.withLock { state -> UInt64 in
            guard case .pending(var pending) = state else { return 0 }
            pending.nextWaiterID += 1
            state = .pending(pending)
            return pending.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<DeliveryResult?, Never>) in
                let immediate: DeliveryResult?? = state.withLock { state in
                    switch state {
                    case .completed(let result):
                        return .some(result)
                    case .pending(var pending):
                        if Task.isCancelled { return .some(nil) }
                        pending.waiters.append(Waiter(id: waiterID, continuation: continuation, resumer: resumer))
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
    package func complete(_ result: DeliveryResult) {
        var batch = ResumeBatch()
        complete(result, into: &batch)
        batch.resume()
    }

    /// Records the outcome; runs the callbacks now and adds the waiters to `batch`, to be resumed with
    /// the rest of their batch of reports.
    func complete(_ result: DeliveryResult, into batch: inout ResumeBatch) {
        let pending: Pending? = state.withLock { state in
            guard case .pending(let pending) = state else { return nil }
            state = .completed(result)
            return pending
        }
        guard let pending else { return }
        for waiter in pending.waiters { batch.add(waiter, result) }
        for callback in pending.callbacks { callback(result) }
    }

    /// Ends one wait with `nil` (its timeout passed or its task was cancelled).
    func expire(_ waiterID: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard case .pending(var pending) = state,
                let index = pending.waiters.firstIndex(where: { $0.id == waiterID })
            else { return nil }
            let waiter = pending.waiters.remove(at: index)
            state = .pending(pending)
            return waiter
        }
        waiter?.continuation.resume(returning: nil)
    }
}

/// The waiters woken by one batch of delivery reports, grouped by where they continue.
struct ResumeBatch {
    private typealias Wake = (continuation: UnsafeContinuation<DeliveryResult?, Never>, result: DeliveryResult)

    private var direct: [Wake] = []
    private var byResumer: [ObjectIdentifier: (resumer: any DeliveryResumer, wakes: [Wake])] = [:]

    fileprivate mutating func add(_ waiter: DeliveryFuture.Waiter, _ result: DeliveryResult) {
        let wake = (waiter.continuation, result)
        guard let resumer = waiter.resumer else {
            direct.append(wake)
            return
        }
        byResumer[ObjectIdentifier(resumer), default: (resumer, [])].wakes.append(wake)
    }

    /// One `execute` per resumer for all of its waiters, except on the resumer's own thread, where
    /// they continue at once (as do waiters without a resumer).
    func resume() {
        for wake in direct { wake.continuation.resume(returning: wake.result) }
        for (resumer, wakes) in byResumer.values {
            guard !resumer.isCurrent else {
                for wake in wakes { wake.continuation.resume(returning: wake.result) }
                continue
            }
            resumer.execute {
                for wake in wakes { wake.continuation.resume(returning: wake.result) }
            }
        }
    }
}
