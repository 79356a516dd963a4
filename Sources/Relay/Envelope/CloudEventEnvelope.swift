import Foundation
import RelayKafka
import RelayPrimitives
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
        /// Distributed tracing extension: the W3C trace context of the relay's producer span.
        public static let traceparent = "ce_traceparent"
        public static let tracestate = "ce_tracestate"
    }

    /// The CloudEvents `source` attribute, e.g. `https://github.com`.
    public let cloudEventSource: String
    public let mode: ContentMode
    /// `cloudEventSource` as a header value, made once.
    private let sourceValue: [UInt8]

    public init(cloudEventSource: String, mode: ContentMode = .binary) {
        self.cloudEventSource = cloudEventSource
        self.mode = mode
        self.sourceValue = Array(cloudEventSource.utf8)
    }

    private static let specVersion = Array("1.0".utf8)
    /// The `content-type` of a value of `mediaType`. Form and text bodies are UTF-8 (the relay
    /// refuses them otherwise), which `charset` says for text.
    public static func valueContentType(_ mediaType: BodyMediaType) -> String {
        mediaType == .text ? "text/plain; charset=utf-8" : mediaType.rawValue
    }

    /// The `content-type` headers of binary-mode values, made once.
    private static let jsonContentType = KafkaHeader(Attribute.contentType, valueContentType(.json))
    private static let formContentType = KafkaHeader(Attribute.contentType, valueContentType(.form))
    private static let textContentType = KafkaHeader(Attribute.contentType, valueContentType(.text))

    private static func contentTypeHeader(_ mediaType: BodyMediaType) -> KafkaHeader {
        switch mediaType {
        case .json: jsonContentType
        case .form: formContentType
        case .text: textContentType
        }
    }

    private static let structuredContentType = KafkaHeader(
        Attribute.contentType,
        "application/cloudevents+json; charset=UTF-8"
    )
    private static let firstAttempt = KafkaHeader(Attribute.attempt, "1")

    /// The Kafka record for `event` on `topic`, for its first delivery attempt.
    public func record(for event: RelayEvent, topic: String) -> KafkaRecord {
        // The key and the `ce_partitionkey` header share one array.
        let partitionKey = Array(event.partitionKey.utf8)
        let attributes = attributes(of: event, partitionKey: partitionKey)
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(attributes.count + 4 + event.webhook.forwardedHeaders.count)
        let value: [UInt8]
        switch mode {
        case .binary:
            for attribute in attributes { headers.append(KafkaHeader(name: attribute.header, value: attribute.value)) }
            headers.append(Self.contentTypeHeader(event.mediaType))
            value = event.body
        case .structured:
            headers.append(Self.structuredContentType)
            value = structuredDocument(attributes: attributes, data: event.body, mediaType: event.mediaType)
        }
        headers.append(Self.firstAttempt)
        for forwarded in event.webhook.forwardedHeaders { headers.append(KafkaHeader(forwarded.name, forwarded.value)) }
        // The plain W3C names too, which Kafka instrumentations read (the ce_ forms are the binding's).
        if let trace = event.traceHeaders {
            headers.append(KafkaHeader(TraceHeaders.traceparentName, trace.traceparent))
            if let state = trace.tracestate { headers.append(KafkaHeader(TraceHeaders.tracestateName, state)) }
        }
        return KafkaRecord(topic: topic, key: partitionKey, value: value, headers: headers)
    }

    /// Context attributes in CloudEvents order, by header name (`ce_` and the attribute name).
    private func attributes(of event: RelayEvent, partitionKey: [UInt8]) -> [(header: String, value: [UInt8])] {
        var attributes: [(header: String, value: [UInt8])] = []
        attributes.reserveCapacity(10)
        attributes.append((Attribute.specVersion, Self.specVersion))
        attributes.append((Attribute.id, Array(event.webhook.deliveryID.utf8)))
        attributes.append((Attribute.source, sourceValue))
        attributes.append((Attribute.type, Array(event.descriptor.cloudEventType.utf8)))
        attributes.append((Attribute.time, time(of: event)))
        if let subject = event.subject { attributes.append((Attribute.subject, Array(subject.utf8))) }
        attributes.append((Attribute.partitionKey, partitionKey))
        attributes.append((Attribute.receivedTime, RFC3339.bytes(unixMilliseconds: event.receivedAt.unixMilliseconds)))
        attributes.append((Attribute.checks, Self.commaSeparated(event.webhook.checks)))
        attributes.append((Attribute.relaySource, Array(event.source.utf8)))
        if let trace = event.traceHeaders {
            attributes.append((Attribute.traceparent, Array(trace.traceparent.utf8)))
            if let state = trace.tracestate { attributes.append((Attribute.tracestate, Array(state.utf8))) }
        }
        return attributes
    }

    /// `names` joined by commas, as bytes (one array, no intermediate string).
    private static func commaSeparated(_ names: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(names.reduce(names.count) { $0 + $1.utf8.count })
        for (index, name) in names.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: name.utf8)
        }
        return bytes
    }

    /// The signed time; the receive time (to the second) for senders that sign none.
    private func time(of event: RelayEvent) -> [UInt8] {
        let seconds = event.webhook.signedAt ?? Int64(event.receivedAt.timeIntervalSince1970.rounded(.down))
        return RFC3339.bytes(unixMilliseconds: seconds * 1000, fractional: false)
    }

    /// The CloudEvents JSON document: JSON data spliced in as `data`, byte for byte; form and text
    /// data as a JSON string (CloudEvents JSON format §3.1).
    private func structuredDocument(
        attributes: [(header: String, value: [UInt8])],
        data: [UInt8],
        mediaType: BodyMediaType
    ) -> [UInt8] {
        var document: [UInt8] = []
        document.reserveCapacity(data.count + 512)
        document.append(UInt8(ascii: "{"))
        for (header, value) in attributes {
            JSONText.appendString(String(header.dropFirst("ce_".count)), to: &document)
            document.append(UInt8(ascii: ":"))
            JSONText.appendString(String(decoding: value, as: UTF8.self), to: &document)
            document.append(UInt8(ascii: ","))
        }
        JSONText.appendString("datacontenttype", to: &document)
        document.append(UInt8(ascii: ":"))
        JSONText.appendString(Self.valueContentType(mediaType), to: &document)
        document.append(contentsOf: #","data":"#.utf8)
        if mediaType == .json {
            document.append(contentsOf: data)
        } else {
            JSONText.appendString(String(decoding: data, as: UTF8.self), to: &document)
        }
        document.append(UInt8(ascii: "}"))
        return document
    }
}
