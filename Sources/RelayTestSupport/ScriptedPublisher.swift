import Foundation
import Relay
import RelayKafka
import RelayPrimitives

/// A publisher whose reports the test gives: it keeps what the delivery core sent, in order, and
/// completes each record's future, or lets its wait time out, when the test says. Reports run on the
/// thread that gives them, as librdkafka's run on its poll thread, and a send from inside a report
/// (a dead letter) is recorded as such.
public final class ScriptedPublisher: EventPublisher {
    public struct Sent: Sendable {
        public var record: KafkaRecord
        public var future: DeliveryFuture
        /// Whether it was sent from inside another record's report.
        public var fromReport: Bool
    }

    private struct State {
        var sent: [Sent] = []
        var refusal: KafkaError?
        var connectivity = KafkaConnectivity.unknown
        var answer: (@Sendable (KafkaRecord) -> DeliveryResult?)?
    }

    private let state = Locked(State())
    private let deadlines = DeliveryDeadlines()
    private static let reportingKey = "ScriptedPublisher.reporting"

    public init() {}

    public func send(_ record: KafkaRecord) throws(KafkaError) -> DeliveryFuture {
        let future = DeliveryFuture(deadlines: deadlines)
        let fromReport = Thread.current.threadDictionary[Self.reportingKey] != nil
        let (refusal, answer) = state.withLock { state in
            if state.refusal == nil {
                state.sent.append(Sent(record: record, future: future, fromReport: fromReport))
            }
            return (state.refusal, state.answer)
        }
        if let refusal { throw refusal }
        if let result = answer?(record) { report(future, result) }
        return future
    }

    public var connectivity: KafkaConnectivity {
        get { state.withLock { $0.connectivity } }
        set { state.withLock { $0.connectivity = newValue } }
    }

    /// Everything sent so far, oldest first.
    public var sent: [Sent] { state.withLock { $0.sent } }

    /// Refuses every send with `error` from now on (`nil`: accepts them again).
    public func refuseSends(with error: KafkaError?) {
        state.withLock { $0.refusal = error }
    }

    /// Reports every later send at once with what `answer` gives (`nil`: left for the test).
    public func answer(with answer: (@Sendable (KafkaRecord) -> DeliveryResult?)?) {
        state.withLock { $0.answer = answer }
    }

    /// Gives the report of the send numbered `index` (0 for the first).
    public func report(_ index: Int, _ result: DeliveryResult) {
        report(sent[index].future, result)
    }

    private func report(_ future: DeliveryFuture, _ result: DeliveryResult) {
        let thread = Thread.current
        let outer = thread.threadDictionary[Self.reportingKey]
        thread.threadDictionary[Self.reportingKey] = true
        future.complete(result)
        thread.threadDictionary[Self.reportingKey] = outer
    }

    /// Waits until at least `count` records were sent (at most `timeout`, a bound on a hang: under
    /// the thread sanitizer a send can take seconds to come); returns them all.
    @discardableResult
    public func waitForSends(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [Sent] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let sent = self.sent
            if sent.count >= count { return sent }
            guard ContinuousClock.now < deadline else { throw Timeout(what: "\(count) sends, got \(sent.count)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Ends every wait for a report now, as if its timeout had passed; first waits (at most
    /// `timeout`) until some caller waits with one.
    public func expireWaits(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while deadlines.next == nil {
            guard ContinuousClock.now < deadline else { throw Timeout(what: "a timed wait") }
            try await Task.sleep(for: .milliseconds(2))
        }
        deadlines.expireDue(now: .now + .seconds(86_400))
    }

    public struct Timeout: Error, CustomStringConvertible {
        var what: String
        public var description: String { "timed out waiting for \(what)" }
    }
}
