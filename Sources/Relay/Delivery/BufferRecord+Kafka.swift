import Foundation
import RelayKafka
import RelayPrimitives
import RetryBuffer
import SenderKit

extension BufferRecord {
    /// The buffered form of a record about to be published for `event`.
    init(_ record: KafkaRecord, event: RelayEvent, attempts: UInt32) {
        self.init(
            source: event.source,
            deliveryID: event.webhook.deliveryID,
            eventType: event.webhook.eventType,
            topic: record.topic,
            key: record.key,
            headers: record.headers.map { BufferedHeader(name: $0.name, value: $0.value) },
            value: record.value,
            receivedAt: event.receivedAt.unixMilliseconds,
            attempts: attempts
        )
    }

    /// The Kafka record to publish for this delivery attempt (`ce_relayattempt` set to `attempt`).
    func kafkaRecord(attempt: UInt32, topic: String? = nil, extraHeaders: [KafkaHeader] = []) -> KafkaRecord {
        var kafkaHeaders = headers.map { header in
            header.name == CloudEventEnvelope.Attribute.attempt
                ? KafkaHeader(header.name, String(attempt))
                : KafkaHeader(name: header.name, value: header.value)
        }
        kafkaHeaders += extraHeaders
        return KafkaRecord(topic: topic ?? self.topic, key: key, value: value, headers: kafkaHeaders)
    }
}
