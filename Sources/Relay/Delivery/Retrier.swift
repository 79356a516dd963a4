import Logging
import RelayKafka
import RelayPrimitives
import RetryBuffer
import ServiceLifecycle
import Tracing

/// Drains the retry buffer into Kafka: oldest first, one record per key at a time (so each key
/// keeps its order), many keys in parallel; exponential backoff with jitter while Kafka fails.
/// A record is marked delivered only on Kafka's acknowledgement. Records Kafka refuses
/// permanently go to the source's dead-letter topic, or stay in the buffer as dead.
package final class Retrier: Service, Sendable {
    /// How the retrier paces itself.
    public struct Configuration: Sendable, Hashable {
        /// Records being published at once.
        public var maximumInFlight: Int
        /// The first wait after a failed attempt; doubles per failure up to `maximumBackoff`.
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        /// Dead-letter topic per source name, at start (``Retrier/replaceDeadLetterTopics(_:)``).
        public var deadLetterTopics: [String: String]

        public init(
            maximumInFlight: Int,
            initialBackoff: Duration,
            maximumBackoff: Duration,
            deadLetterTopics: [String: String]
        ) {
            self.maximumInFlight = maximumInFlight
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.deadLetterTopics = deadLetterTopics
        }
    }

    /// Headers added to a record sent to a dead-letter topic.
    public enum DeadLetterHeader {
        public static let reason = "relay_deadletter_reason"
        public static let error = "relay_deadletter_error"
        public static let originalTopic = "relay_original_topic"
        public static let attempts = "relay_attempts"
    }

    private struct State {
        var inFlight = 0
        var failureStreak = 0
        var notBefore: ContinuousClock.Instant?
    }

    private let buffer: RetryBuffer
    private let publisher: any EventPublisher
    private let health: BrokerHealth
    private let configuration: Configuration
    private let metrics: RelayMetrics
    private let logger: Logger
    private let state = Locked(State())
    /// The sources' dead-letter topics, replaced by a reload.
    private let deadLetterTopics: Locked<[String: String]>
    /// Set when tracing is on: a `send` span per attempt, linked to the request's trace.
    private let tracer: RelayTracer?

    init(
        buffer: RetryBuffer,
        publisher: any EventPublisher,
        health: BrokerHealth,
        configuration: Configuration,
        metrics: RelayMetrics,
        logger: Logger,
        tracer: RelayTracer? = nil
    ) {
        self.buffer = buffer
        self.publisher = publisher
        self.health = health
        self.configuration = configuration
        self.deadLetterTopics = Locked(configuration.deadLetterTopics)
        self.metrics = metrics
        self.logger = logger
        self.tracer = tracer
    }

    /// The sources' dead-letter topics from now on (a reload added, removed or changed a source).
    func replaceDeadLetterTopics(_ topics: [String: String]) {
        deadLetterTopics.withLock { $0 = topics }
    }

    /// Drains until graceful shutdown. Records in flight then are resolved by their delivery reports
    /// (or purged by the producer's shutdown, which leaves them pending on disk).
    public func run() async {
        await cancelWhenGracefulShutdown {
            await self.drain()
        }
    }

    private func drain() async {
        while !Task.isCancelled {
            let (capacity, wait) = state.withLock { state -> (Int, Duration?) in
                let wait = state.notBefore.map { $0 - ContinuousClock.now }.flatMap { $0 > .zero ? $0 : nil }
                return (configuration.maximumInFlight - state.inFlight, wait)
            }
            if let wait {
                try? await Task.sleep(for: wait)
                continue
            }
            let claimed = capacity > 0 ? buffer.claimPending(limit: capacity) : []
            if claimed.isEmpty {
                await buffer.waitForPendingWork(timeout: .seconds(1))
                continue
            }
            for pending in claimed { publish(pending) }
        }
    }

    /// One publish of a buffered record. Its report is handled on the publisher's report thread
    /// (see ``EventPublisher``): ``reported(_:for:)`` marks the buffer there and, when Kafka refused
    /// the record for good, sends its dead letter from there too; ``letterReported(_:for:topic:because:)``
    /// handles the letter's own report.
    struct Attempt: Sendable {
        var id: RecordID
        var record: BufferRecord
        /// 1 for the first publish (on the request path or by the retrier).
        var number: UInt32
        /// The attempt's `send` span (tracing on), ended by its report.
        var span: (any Span)?
    }

    private func publish(_ pending: PendingRecord) {
        let record: BufferRecord
        do {
            record = try buffer.read(pending.id)
        } catch {
            logger.error("Cannot read a buffered record; keeping it as dead", metadata: [LogKey.error: "\(error)"])
            buffer.markDead(pending.id, reason: "unreadable: \(error)", attempts: pending.attempts)
            return
        }
        let number = pending.attempts + 1
        let kafkaRecord = record.kafkaRecord(attempt: number)
        let span = tracer?.startRetry(kafkaRecord, deliveryID: record.deliveryID, attempt: number)
        let attempt = Attempt(id: pending.id, record: record, number: number, span: span)
        state.withLock { $0.inFlight += 1 }
        send(kafkaRecord) { result in
            self.reported(result, for: attempt)
        }
    }

    /// On the report thread: delivered, to retry after a backoff, or refused for good (then its
    /// dead letter is sent from here).
    private func reported(_ result: DeliveryResult, for attempt: Attempt) {
        if let span = attempt.span {
            switch result {
            case .success(let ack):
                span.record(ack)
                span.describe(SpanKey.outcome, "delivered")
            case .failure(let error):
                span.describe(SpanKey.outcome, error.isPermanent ? "rejected" : "failed")
                span.fail(error.code.name)
            }
            span.end()
        }
        switch result {
        case .success:
            buffer.markDelivered(attempt.id, attempts: attempt.number)
            health.recordSuccess()
            state.withLock { state in
                state.inFlight -= 1
                state.failureStreak = 0
                state.notBefore = nil
            }
            metrics.retry(outcome: "delivered")
        case .failure(let error) where error.isPermanent:
            metrics.retry(outcome: "rejected")
            deadLetter(attempt, because: error)
        case .failure(let error):
            buffer.releaseInFlight(attempt.id, attempts: attempt.number)
            health.recordFailure()
            state.withLock { $0.inFlight -= 1 }
            backOff()
            metrics.retry(outcome: "failed")
            logger.debug(
                "Retry failed",
                metadata: [LogKey.deliveryID: "\(attempt.record.deliveryID)", LogKey.error: "\(error)"]
            )
        }
    }

    /// Publishes a permanently refused record to its dead-letter topic, with the reason in headers.
    private func deadLetter(_ attempt: Attempt, because error: KafkaError) {
        let record = attempt.record
        let topic = deadLetterTopics.withLock { $0[record.source] } ?? "\(record.source).deadletter"
        let letter = record.kafkaRecord(
            attempt: attempt.number,
            topic: topic,
            extraHeaders: [
                KafkaHeader(DeadLetterHeader.reason, error.message),
                KafkaHeader(DeadLetterHeader.error, error.code.name),
                KafkaHeader(DeadLetterHeader.originalTopic, record.topic),
                KafkaHeader(DeadLetterHeader.attempts, String(attempt.number)),
            ]
        )
        logger.warning(
            "Kafka refused an event permanently; sending it to the dead-letter topic",
            metadata: [
                LogKey.deliveryID: "\(record.deliveryID)", LogKey.topic: "\(record.topic)", LogKey.error: "\(error)",
            ]
        )
        send(letter) { result in
            self.letterReported(result, for: attempt, topic: topic, because: error)
        }
    }

    /// On the report thread: the dead letter is published (the record is settled), refused too (the
    /// record stays in the buffer as dead), or to retry (the record is pending again).
    private func letterReported(
        _ result: DeliveryResult,
        for attempt: Attempt,
        topic: String,
        because error: KafkaError
    ) {
        state.withLock { $0.inFlight -= 1 }
        switch result {
        case .success:
            buffer.markDeadLettered(attempt.id, reason: error.description)
            metrics.deadLetter(outcome: "published")
        case .failure(let letterError) where letterError.isPermanent:
            buffer.markDead(
                attempt.id,
                reason: "\(error); dead-letter topic \(topic): \(letterError)",
                attempts: attempt.number
            )
            metrics.deadLetter(outcome: "kept_dead")
            logger.error(
                "The dead-letter topic refused the event too; it stays in the buffer as dead",
                metadata: [LogKey.deliveryID: "\(attempt.record.deliveryID)", LogKey.error: "\(letterError)"]
            )
        case .failure:
            buffer.releaseInFlight(attempt.id, attempts: attempt.number)
            backOff()
        }
    }

    private func send(_ record: KafkaRecord, completion: @escaping @Sendable (DeliveryResult) -> Void) {
        do {
            try publisher.send(record).whenComplete(completion)
        } catch {
            completion(.failure(error))
        }
    }

    /// Waits before the next round: doubling per failure streak, with ±50% jitter; several failures
    /// inside one wait count once.
    private func backOff() {
        state.withLock { state in
            if let notBefore = state.notBefore, notBefore > .now { return }
            state.failureStreak += 1
            let exponent = min(state.failureStreak - 1, 20)
            let base = min(configuration.initialBackoff * (1 << exponent), configuration.maximumBackoff)
            state.notBefore = .now + base * Double.random(in: 0.5...1.5)
        }
    }
}
