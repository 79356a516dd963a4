import RelayKafka

/// Makes an event durable before the relay answers for it: acknowledged by Kafka (`acks=all`)
/// within the publish timeout.
public struct EventDelivery: Sendable {
    /// What became of one event.
    public enum Outcome: Sendable, Hashable {
        /// Kafka acknowledged the record.
        case published(KafkaAck)
        /// The event is not durable anywhere; the sender must retry. `reason` is for logs and answers.
        case unavailable(reason: String)
    }

    private let producer: KafkaProducer
    private let publishTimeout: Duration

    public init(producer: KafkaProducer, publishTimeout: Duration) {
        self.producer = producer
        self.publishTimeout = publishTimeout
    }

    /// Publishes `record` and waits for its acknowledgement, at most the publish timeout.
    public func deliver(_ record: KafkaRecord) async -> Outcome {
        let future: DeliveryFuture
        do {
            future = try producer.send(record)
        } catch {
            return .unavailable(reason: "Kafka refused the event: \(error.message)")
        }
        switch await future.value(timeout: publishTimeout) {
        case .success(let ack)?:
            return .published(ack)
        case .failure(let error)?:
            return .unavailable(reason: "Kafka did not accept the event: \(error.message)")
        case nil:
            return .unavailable(reason: "Kafka did not acknowledge the event within \(publishTimeout.configText)")
        }
    }
}
