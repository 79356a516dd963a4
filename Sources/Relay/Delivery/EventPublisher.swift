import RelayKafka

/// Where the delivery core sends records: the Kafka producer in the relay, a scripted publisher in
/// the delivery tests (`RelayTestSupport.ScriptedPublisher`).
///
/// A record's report arrives later, on the publisher's report thread (librdkafka's poll thread).
/// Callbacks registered with `DeliveryFuture.whenComplete` run there: they must not block, and they
/// may send again (the retrier sends a dead letter from the report of a refused record), so a
/// publisher must accept `send` from inside a report.
package protocol EventPublisher: Sendable {
    /// Hands `record` over; its future completes with the broker's report. Throws when the record is
    /// refused at once (the queue is full, the producer is closing).
    func send(_ record: KafkaRecord) throws(KafkaError) -> DeliveryFuture
    /// What librdkafka knows of its brokers: `.unreachable` when it reports every one down.
    var connectivity: KafkaConnectivity { get }
}

extension KafkaProducer: EventPublisher {}
