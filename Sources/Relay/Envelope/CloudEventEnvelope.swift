import Foundation
import RelayKafka
import RetryBuffer
import SenderKit

/// Wraps events in CloudEvents 1.0 for Kafka (the CloudEvents Kafka protocol binding).
///
/// Binary mode (default) leaves the body untouched as the Kafka value and carries the attributes in
/// `ce_*` headers; structured mode writes one `application/cloudevents+json` document whose `data`
/// member is the body, spliced in byte for byte (never re-serialized).
public struct CloudEventEnvelope: Sendable, Hashable {
    /// How attributes and data are laid out in the Kafka record.
    public enum ContentMode: String, Sendable, CaseIterable {
        case binary
        case structured
    }

    /// Header and attribute names this relay writes.
    public enum Attribute {
        public static let specVersion = "ce_specversion"
        public static let id = "ce_id"
        public static let source = "ce_source"
        public static let type = "ce_type"
        public static let time = "ce_time"
        public static let subject = "ce_subject"
        public static let partitionKey = "ce_partitionkey"
        public static let contentType = "content-type"
        /// Extension: when the relay received the request (RFC 3339, milliseconds).
        public static let receivedTime = "ce_relayreceivedtime"
        /// Extension: the verification checks that passed, comma-separated.
        public static let checks = "ce_relaychecks"
        /// Extension: the relay source name (`github`).
        public static let relaySource = "ce_relaysource"
        /// Extension: which delivery attempt this record is (1 for the first publish); set per publish.
        public static let attempt = "ce_relayattempt"
    }

    /// The CloudEvents `source` attribute, e.g. `https://github.com`.
    public var cloudEventSource: String
    public var mode: ContentMode

    public init(cloudEventSource: String, mode: ContentMode = .binary) {
        self.cloudEventSource = cloudEventSource
        self.mode = mode
    }

    /// The Kafka record for `event` on `topic`, for its first delivery attempt.
    public func record(for event: RelayEvent, topic: String) -> KafkaRecord {
        let attributes = attributes(of: event)
        var headers: [KafkaHeader]
        let value: [UInt8]
        switch mode {
        case .binary:
            headers = attributes.map { KafkaHeader("ce_" + $0.name, $0.value) }
            headers.append(KafkaHeader(Attribute.contentType, "application/json"))
            value = event.body
        case .structured:
            headers = [KafkaHeader(Attribute.contentType, "application/cloudevents+json; charset=UTF-8")]
            value = structuredDocument(attributes: attributes, data: event.body)
        }
        headers.append(KafkaHeader(Attribute.attempt, "1"))
        headers.append(contentsOf: event.webhook.forwardedHeaders.map { KafkaHeader($0.name, $0.value) })
        return KafkaRecord(topic: topic, key: Array(event.partitionKey.utf8), value: value, headers: headers)
    }

    /// Context attributes in CloudEvents order (names without the `ce_` prefix).
    private func attributes(of event: RelayEvent) -> [(name: String, value: String)] {
        var attributes: [(name: String, value: String)] = [
            ("specversion", "1.0"),
            ("id", event.webhook.deliveryID),
            ("source", cloudEventSource),
            ("type", event.descriptor.cloudEventType),
            ("time", time(of: event)),
        ]
        if let subject = event.subject { attributes.append(("subject", subject)) }
        let receivedMillis = event.receivedAt.unixMilliseconds
        attributes += [
            ("partitionkey", event.partitionKey),
            ("relayreceivedtime", RFC3339.format(unixMilliseconds: receivedMillis)),
            ("relaychecks", event.webhook.checks.joined(separator: ",")),
            ("relaysource", event.source),
        ]
        return attributes
    }

    /// The signed time; the receive time (to the second) for senders that sign none.
    private func time(of event: RelayEvent) -> String {
        RFC3339.format(
            unixSeconds: event.webhook.signedAt ?? Int64(event.receivedAt.timeIntervalSince1970.rounded(.down))
        )
    }

    private func structuredDocument(attributes: [(name: String, value: String)], data: [UInt8]) -> [UInt8] {
        var document: [UInt8] = []
        document.reserveCapacity(data.count + 512)
        document.append(UInt8(ascii: "{"))
        for (name, value) in attributes {
            JSONText.appendString(name, to: &document)
            document.append(UInt8(ascii: ":"))
            JSONText.appendString(value, to: &document)
            document.append(UInt8(ascii: ","))
        }
        JSONText.appendString("datacontenttype", to: &document)
        document.append(contentsOf: #":"application/json","data":"#.utf8)
        document.append(contentsOf: data)
        document.append(UInt8(ascii: "}"))
        return document
    }
}
