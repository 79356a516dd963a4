import Foundation
import HTTPTypes
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("CloudEvents envelope, keys and topics")
struct CloudEventEnvelopeTests {
    static let vectors = (try? SignatureVector.all()) ?? []
    let scheme = DocutrayScheme(secrets: [SignatureVector.secret], webhookURL: SignatureVector.webhookURL)
    let receivedAt = Date(timeIntervalSince1970: 1_705_314_601.25)

    func event(_ vector: SignatureVector) throws -> RelayEvent {
        var headers = HTTPFields()
        for (name, value) in vector.headerList { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let webhook = try scheme.verify(WebhookRequest(headers: headers, body: vector.bodyBytes), now: receivedAt)
        let descriptor = scheme.describe(eventType: webhook.eventType)
        let key = try #require(descriptor.keyField)
        let fields = try JSONScanner.scan(vector.bodyBytes, capturing: [key])
        return RelayEvent(
            source: "docutray",
            webhook: webhook,
            descriptor: descriptor,
            subject: fields[0],
            body: vector.bodyBytes,
            receivedAt: receivedAt
        )
    }

    @Test("A traced event: traceparent and tracestate as ce_ attributes (or JSON members) and as plain headers")
    func traceContext() throws {
        var event = try event(try #require(Self.vectors.first))
        event.traceHeaders = TraceHeaders(
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            tracestate: "vendor=opaque"
        )
        for mode in CloudEventEnvelope.ContentMode.allCases {
            let record = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com", mode: mode)
                .record(for: event, topic: "t")
            let headers = Dictionary(record.headers.map { ($0.name, $0.stringValue ?? "") }) { first, _ in first }
            #expect(headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            #expect(headers["tracestate"] == "vendor=opaque")
            switch mode {
            case .binary:
                #expect(headers["ce_traceparent"] == headers["traceparent"])
                #expect(headers["ce_tracestate"] == "vendor=opaque")
            case .structured:
                let document = try #require(
                    try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any]
                )
                #expect(document["traceparent"] as? String == headers["traceparent"])
                #expect(document["tracestate"] as? String == "vendor=opaque")
                #expect(headers["ce_traceparent"] == nil)
            }
        }
        event.traceHeaders = nil
        let untraced = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com").record(for: event, topic: "t")
        #expect(!untraced.headers.contains { $0.name.contains("trace") })
    }

    @Test("Binary mode: raw body, document id as key, every ce_ header", arguments: vectors)
    func binaryMode(_ vector: SignatureVector) throws {
        let event = try event(vector)
        let record = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com").record(for: event, topic: "t")
        let headers = Dictionary(
            record.headers.map { ($0.name, $0.stringValue ?? "") },
            uniquingKeysWith: { first, _ in first }
        )
        let (family, action) = Self.split(vector.event)
        let expectedKey = try Self.documentID(of: vector)
        #expect(record.value == vector.bodyBytes)
        #expect(record.key == Array(expectedKey.utf8))
        #expect(headers["ce_specversion"] == "1.0")
        #expect(headers["ce_id"] == vector.deliveryID)
        #expect(headers["ce_source"] == "https://app.docutray.com")
        #expect(headers["ce_type"] == "com.docutray.\(family).\(action)")
        #expect(headers["ce_time"] == "2024-01-15T10:30:00Z")
        #expect(headers["ce_subject"] == expectedKey)
        #expect(headers["ce_partitionkey"] == expectedKey)
        #expect(headers["content-type"] == "application/json")
        #expect(headers["ce_relayreceivedtime"] == "2024-01-15T10:30:01.250Z")
        #expect(headers["ce_relaychecks"] == "timestamp,body-signature,auth-signature")
        #expect(headers["ce_relayattempt"] == "1")
        for (name, value) in vector.headers where name.hasPrefix("x-docutray-") {
            #expect(headers[name] == value, "forwarded \(name)")
        }
    }

    @Test("Structured mode: one CloudEvents JSON document whose data is the body, spliced byte for byte")
    func structuredMode() throws {
        let vector = try #require(Self.vectors.first { $0.deliveryID == "req_unicode" })
        let record = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com", mode: .structured)
            .record(for: try event(vector), topic: "t")
        #expect(
            record.headers.first { $0.name == "content-type" }?.stringValue
                == "application/cloudevents+json; charset=UTF-8"
        )
        let document = try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
        #expect(document["specversion"] as? String == "1.0")
        #expect(document["id"] as? String == "req_unicode")
        #expect(document["type"] as? String == "com.docutray.conversion.completed")
        #expect(document["subject"] as? String == "clm_ünïcødé_€")
        #expect(document["datacontenttype"] as? String == "application/json")
        #expect(String(decoding: record.value, as: UTF8.self).hasSuffix(#""data":"# + vector.body + "}"))
        let data = try #require(document["data"] as? [String: Any])
        #expect(data["conversion_id"] as? String == "clm_ünïcødé_€")
    }

    @Test("Without the id field the key falls back to the request id and there is no subject")
    func keyFallback() throws {
        var event = try event(#require(Self.vectors.first))
        event.subject = nil
        let record = CloudEventEnvelope(cloudEventSource: "s").record(for: event, topic: "t")
        #expect(record.key == Array(event.webhook.deliveryID.utf8))
        #expect(!record.headers.contains { $0.name == "ce_subject" })
    }

    @Test("Unknown event types are described from their name")
    func unknownTypes() {
        let archived = scheme.describe(eventType: "DOCUMENT_ARCHIVED")
        #expect(!archived.isKnown)
        #expect(archived.family == "document")
        #expect(archived.action == "archived")
        #expect(archived.keyField == JSONPointer(member: "document_id"))
        #expect(archived.cloudEventType == "com.docutray.document.archived")
        let multi = scheme.describe(eventType: "DOCUMENT_TYPE_CREATED")
        #expect(multi.family == "document_type")
        #expect(multi.action == "created")
        let bare = scheme.describe(eventType: "PING")
        #expect(bare.family == "other")
        #expect(bare.action == "ping")
        #expect(bare.keyField == nil)
        #expect(scheme.describe(eventType: "STEP_FAILED").isKnown)
    }

    @Test("RFC 3339 formatting matches Foundation's across centuries and leap days")
    func rfc3339() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        for seconds: Int64 in [0, 951_782_400, 1_705_314_600, 4_107_542_399, -86_400, 253_402_300_799] {
            #expect(
                RFC3339.format(unixSeconds: seconds)
                    == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            )
        }
        #expect(RFC3339.format(unixMilliseconds: 1_705_314_600_007) == "2024-01-15T10:30:00.007Z")
    }

    static func split(_ event: String) -> (String, String) {
        let parts = event.lowercased().split(separator: "_")
        return (String(parts[0]), String(parts[1]))
    }

    static func documentID(of vector: SignatureVector) throws -> String {
        let body = try #require(try JSONSerialization.jsonObject(with: Data(vector.bodyBytes)) as? [String: Any])
        return try #require(
            (body["conversion_id"] ?? body["identification_id"] ?? body["step_execution_id"]) as? String
        )
    }
}

@Suite("Topic routing")
struct TopicRouterTests {
    let scheme = DocutrayScheme(secrets: ["whsec_x_12345678"], webhookURL: "https://x")

    @Test("Default names are {source}.{family}.{action} for all nine event types")
    func defaultNames() throws {
        let router = try TopicRouter(template: DocutraySender().defaults.topicTemplate)
        var names: [String] = []
        for family in ["CONVERSION", "IDENTIFICATION", "STEP"] {
            for action in ["STARTED", "COMPLETED", "FAILED"] {
                names.append(
                    router.topic(source: "docutray", descriptor: scheme.describe(eventType: "\(family)_\(action)"))
                )
            }
        }
        #expect(names.contains("docutray.conversion.completed"))
        #expect(names.contains("docutray.step.failed"))
        #expect(names.contains("docutray.identification.started"))
        #expect(Set(names).count == 9)
    }

    @Test("Overrides win over the template; unknown types go through the template")
    func overrides() throws {
        let router = try TopicRouter(template: "events-{source}-{event}", overrides: ["STEP_FAILED": "alerts.steps"])
        #expect(
            router.topic(source: "docutray", descriptor: scheme.describe(eventType: "STEP_FAILED")) == "alerts.steps"
        )
        #expect(
            router.topic(source: "docutray", descriptor: scheme.describe(eventType: "STEP_STARTED"))
                == "events-docutray-step_started"
        )
        #expect(
            router.topic(source: "docutray", descriptor: scheme.describe(eventType: "BATCH_DONE"))
                == "events-docutray-batch_done"
        )
    }

    @Test(
        "Templates and overrides that cannot make topic names are refused",
        arguments: ["{source}.{kind}", "{source", "a b.{event}", ""]
    )
    func badTemplates(_ template: String) {
        #expect(throws: TopicRouter.TemplateError.self) { try TopicRouter(template: template) }
    }

    @Test("Override topic names are checked")
    func badOverride() {
        #expect(throws: TopicRouter.TemplateError.self) { try TopicRouter(overrides: ["STEP_FAILED": "bad topic"]) }
        #expect(throws: TopicRouter.TemplateError.self) { try TopicRouter(overrides: ["STEP_FAILED": ".."]) }
    }
}
