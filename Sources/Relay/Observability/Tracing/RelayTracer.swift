import HTTPTypes
import Instrumentation
import OTel
import RelayKafka
import Tracing

/// The spans the relay records, over swift-otel's tracer (``TracingBackend``). Where tracing is off
/// the relay holds no `RelayTracer` at all: the request path makes no span and only checks for `nil`.
///
/// A request's spans: `POST /webhooks/{source}` (server; the child of the sender's `traceparent`
/// when it sent a valid one) → `verify`, `dedup`, `send {topic}` (producer, ending at Kafka's
/// acknowledgement or the buffer's fsync). The record carries the producer span's context, so a
/// consumer's span is its child. A buffered event's later publish is a `send {topic}` span of its
/// own trace, linked to the request's. Attributes never hold a secret, a signature or a body.
package struct RelayTracer: Sendable {
    private let tracer: any Tracer

    package init(tracer: any Tracer) {
        self.tracer = tracer
    }

    /// The server span of a request to `/webhooks/{source}`, and the context its steps run in: the
    /// span's, or the sender's when the sampler gave the span none (`always_off`), so the record
    /// still carries the sender's trace.
    func startRequest(
        headers: HTTPFields,
        path: String,
        source: String,
        secure: Bool,
        peer: String?
    ) -> (span: any Span, context: InstrumentationContext) {
        var parent = InstrumentationContext.topLevel
        if let incoming = TraceHeaders(headers) {
            tracer.extract(incoming, into: &parent, using: TraceHeaders.Extraction())
        }
        let span = tracer.startSpan("POST /webhooks/{source}", context: parent, ofKind: .server)
        span.describe { attributes in
            attributes["http.request.method"] = "POST"
            attributes["http.route"] = "/webhooks/{source}"
            attributes["url.path"] = String(path.prefix(200))
            attributes["url.scheme"] = secure ? "https" : "http"
            if let peer { attributes["client.address"] = peer }
            if let length = headers[.contentLength].flatMap({ Int64($0) }) {
                attributes["http.request.body.size"] = length
            }
            attributes[SpanKey.source] = String(source.prefix(100))
        }
        return (span, span.context.otelTraceID == nil ? parent : span.context)
    }

    /// An internal step of the current request (`verify`, `dedup`).
    func startStep(_ name: String) -> any Span {
        tracer.startSpan(name, context: InstrumentationContext.current ?? .topLevel, ofKind: .internal)
    }

    /// The producer span of one event's publish on the request path.
    func startSend(topic: String, deliveryID: String) -> any Span {
        let span = tracer.startSpan(
            "send \(topic)",
            context: InstrumentationContext.current ?? .topLevel,
            ofKind: .producer
        )
        span.describe { Self.describeSend(&$0, topic: topic, deliveryID: deliveryID) }
        return span
    }

    /// The producer span of a buffered record's publish by the retrier: a trace of its own, linked
    /// to the request's (the `traceparent` the record carries).
    func startRetry(_ record: KafkaRecord, deliveryID: String, attempt: UInt32) -> any Span {
        let span = tracer.startSpan("send \(record.topic)", context: .topLevel, ofKind: .producer)
        if let carried = TraceHeaders(record.headers) {
            var linked = InstrumentationContext.topLevel
            tracer.extract(carried, into: &linked, using: TraceHeaders.Extraction())
            span.addLink(SpanLink(context: linked, attributes: [:]))
        }
        span.describe { attributes in
            Self.describeSend(&attributes, topic: record.topic, deliveryID: deliveryID)
            attributes[SpanKey.attempt] = Int64(attempt)
        }
        return span
    }

    /// What the record of `span`'s event carries: the span's context as W3C headers; the request's
    /// own when the sampler gave the span none.
    func traceHeaders(of span: any Span) -> TraceHeaders? {
        var headers = TraceHeaders(traceparent: "")
        tracer.inject(span.context, into: &headers, using: TraceHeaders.Injection())
        if headers.traceparent.isEmpty, let current = InstrumentationContext.current {
            tracer.inject(current, into: &headers, using: TraceHeaders.Injection())
        }
        return headers.traceparent.isEmpty ? nil : headers
    }

    /// The semantic conventions' attributes of a Kafka send.
    private static func describeSend(_ attributes: inout SpanAttributes, topic: String, deliveryID: String) {
        attributes["messaging.system"] = "kafka"
        attributes["messaging.operation.type"] = "send"
        attributes["messaging.operation.name"] = "send"
        attributes["messaging.destination.name"] = topic
        attributes["messaging.message.id"] = deliveryID
    }
}

/// The relay's own span attribute names (the rest are OpenTelemetry's semantic conventions).
enum SpanKey {
    static let source = "webhook.source"
    static let deliveryID = "webhook.delivery_id"
    static let eventType = "webhook.event_type"
    /// What the relay answered: published, buffered, duplicate, answered.
    static let status = "webhook.status"
    /// fresh, duplicate, conflict, in_progress, full.
    static let dedup = "webhook.dedup"
    /// A send's end: published, buffered, delivered (a retry), failed, rejected, unavailable.
    static let outcome = "webhook.delivery.outcome"
    static let attempt = "webhook.delivery.attempt"
}

extension Span {
    /// Sets attributes of a recorded span; an unsampled one takes none, so they are not even built.
    func describe(_ update: (inout SpanAttributes) -> Void) {
        if isRecording { updateAttributes(update) }
    }

    func describe(_ key: String, _ value: some SpanAttributeConvertible) {
        if isRecording { attributes[key] = value.toSpanAttribute() }
    }

    /// Where Kafka stored the record.
    func record(_ ack: KafkaAck) {
        describe { attributes in
            attributes["messaging.destination.partition.id"] = String(ack.partition)
            attributes["messaging.kafka.offset"] = ack.offset
        }
    }

    /// Marks the span failed with `type` (`error.type`), and ends nothing.
    func fail(_ type: String) {
        describe("error.type", type)
        setStatus(SpanStatus(code: .error))
    }
}

/// W3C trace context as the record's headers carry it: `traceparent`, and `tracestate` when there
/// is one (at most 512 bytes, as W3C lets a vendor cut it).
public struct TraceHeaders: Sendable, Hashable {
    public var traceparent: String
    public var tracestate: String?

    public static let traceparentName = "traceparent"
    public static let tracestateName = "tracestate"
    static let maximumStateLength = 512

    public init(traceparent: String, tracestate: String? = nil) {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// What a request sent, if it sent a `traceparent` of the right length (the tracer checks the rest).
    init?(_ headers: HTTPFields) {
        guard let parent = headers[Self.traceparentField], parent.utf8.count == 55 else { return nil }
        self.init(traceparent: parent, tracestate: headers[Self.tracestateField].flatMap(Self.bounded))
    }

    /// What a record carries.
    init?(_ headers: [KafkaHeader]) {
        guard let parent = headers.first(where: { $0.name == Self.traceparentName })?.stringValue else { return nil }
        let state = headers.first { $0.name == Self.tracestateName }?.stringValue
        self.init(traceparent: parent, tracestate: state.flatMap(Self.bounded))
    }

    private static func bounded(_ state: String) -> String? {
        state.isEmpty || state.utf8.count > maximumStateLength ? nil : state
    }

    private static let traceparentField = HTTPField.Name(traceparentName)!
    private static let tracestateField = HTTPField.Name(tracestateName)!

    /// Reads the two values for the tracer's propagator.
    struct Extraction: Extractor {
        func extract(key: String, from carrier: TraceHeaders) -> String? {
            switch key {
            case TraceHeaders.traceparentName: carrier.traceparent
            case TraceHeaders.tracestateName: carrier.tracestate
            default: nil
            }
        }
    }

    /// Takes the two values from the tracer's propagator.
    struct Injection: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout TraceHeaders) {
            switch key {
            case TraceHeaders.traceparentName: carrier.traceparent = value
            case TraceHeaders.tracestateName: carrier.tracestate = TraceHeaders.bounded(value)
            default: break
            }
        }
    }
}
