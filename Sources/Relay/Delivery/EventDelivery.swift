import Logging
import RelayKafka
import RetryBuffer

/// Makes an event durable before the relay answers for it: acknowledged by Kafka (`acks=all`)
/// within the publish timeout, or else appended to the retry buffer and fsynced.
///
/// - Kafka known down (a recent failure, or librdkafka reports every broker down): straight to the
///   buffer, no wait.
/// - Events of a key that already has records waiting in the buffer queue behind them, to keep
///   per-key order.
/// - Publish timeout: the event is buffered while its first copy is still in flight; if that copy is
///   acknowledged after all, the buffered record is marked delivered instead of being sent twice.
/// - Delivered events are also archived (without an fsync) when the archive is on.
struct EventDelivery: Sendable {
    /// What became of one event.
    enum Outcome: Sendable, Hashable {
        /// Kafka acknowledged the record.
        case published(KafkaAck)
        /// The record is in the retry buffer, fsynced; the retrier will publish it.
        case buffered(RecordID)
        /// The event is not durable anywhere; the sender must retry. `reason` is for logs and answers.
        case unavailable(reason: String)
    }

    private let publisher: any EventPublisher
    private let buffer: RetryBuffer
    private let health: BrokerHealth
    private let publishTimeout: Duration
    private let metrics: RelayMetrics
    private let logger: Logger

    init(
        publisher: any EventPublisher,
        buffer: RetryBuffer,
        health: BrokerHealth,
        publishTimeout: Duration,
        metrics: RelayMetrics,
        logger: Logger
    ) {
        self.publisher = publisher
        self.buffer = buffer
        self.health = health
        self.publishTimeout = publishTimeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Publishes `record` (the envelope of `event`) or buffers it; returns once it is durable.
    /// - Parameter valueChecksum: the CRC-32C of `record.value` if the caller has it (the dedup
    ///   digest of a body that is the value), so the buffer does not read a large value again.
    func deliver(_ record: KafkaRecord, of event: RelayEvent, valueChecksum: UInt32? = nil) async -> Outcome {
        var buffered = BufferRecord(record, event: event, attempts: 0)
        if health.isKnownDown {
            return await append(buffered, inFlight: nil, valueChecksum: valueChecksum, because: "kafka_down")
        }
        if buffer.hasPending(orderingKey: buffered.orderingKey) {
            return await append(buffered, inFlight: nil, valueChecksum: valueChecksum, because: "key_waiting")
        }
        let future: DeliveryFuture
        do {
            future = try publisher.send(record)
        } catch {
            return await append(buffered, inFlight: nil, valueChecksum: valueChecksum, because: "send_refused")
        }
        buffered.attempts = 1
        let started = ContinuousClock.now
        let result = await future.value(timeout: publishTimeout, resumingOn: EventLoopResumer.current)
        let waited = ContinuousClock.now - started
        switch result {
        case .success(let ack)?:
            health.recordSuccess()
            await buffer.archive(buffered, valueChecksum: valueChecksum)
            metrics.published(waited: waited)
            return .published(ack)
        case .failure(let error)?:
            if error.isRetriable { health.recordFailure() }
            return await append(
                buffered,
                inFlight: nil,
                valueChecksum: valueChecksum,
                because: error.isPermanent ? "rejected" : "publish_failed"
            )
        case nil:
            health.recordFailure()
            return await append(buffered, inFlight: future, valueChecksum: valueChecksum, because: "publish_timeout")
        }
    }

    private func append(
        _ record: BufferRecord,
        inFlight copy: DeliveryFuture?,
        valueChecksum: UInt32?,
        because reason: String
    ) async -> Outcome {
        do {
            let id = try await buffer.append(record, inFlight: copy != nil, valueChecksum: valueChecksum)
            if let copy {
                let buffer = self.buffer
                copy.whenComplete { result in
                    switch result {
                    case .success: buffer.markDelivered(id)
                    case .failure: buffer.releaseInFlight(id)
                    }
                }
            }
            metrics.notPublished(outcome: "buffered", reason: reason)
            return .buffered(id)
        } catch {
            metrics.notPublished(outcome: "unavailable", reason: reason)
            logger.error("Could not buffer an event", metadata: [LogKey.reason: "\(reason)", LogKey.error: "\(error)"])
            return .unavailable(reason: "Kafka did not take the event (\(reason)) and the buffer refused it: \(error)")
        }
    }
}
