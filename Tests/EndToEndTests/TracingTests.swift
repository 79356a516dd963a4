import Foundation
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import Testing

/// OpenTelemetry tracing against a real OTLP/HTTP receiver (`Tests/Tracing/otlp_receiver.py`,
/// which decodes what arrives with the `opentelemetry-proto` package): a trace per delivery, the
/// record carrying it to the consumer, retries linked to the request, and a collector that is gone
/// or hangs costing no answer.
@Suite("Tracing", .serialized, .timeLimit(.minutes(4)))
struct TracingTests {
    /// Tracing on, exporting quickly to `port`.
    static func environment(port: Int, extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:\(port)/v1/traces",
            "RELAY_TRACING_EXPORT_INTERVAL": "100ms",
        ]
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// `relay_tracing_spans_total` with this outcome, as `/metrics` shows it.
    static func spansCounted(_ relay: TestRelay, _ outcome: String) -> Double {
        let text = String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
        return ObservabilityTests.sample(text, "relay_tracing_spans_total", #"outcome="\#(outcome)""#)
    }

    static let incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let incomingSpan = "00f067aa0ba902b7"

    @Test("A delivery is one trace (request → verify → dedup → send), and its record carries the send span's context")
    func traceOfADelivery() async throws {
        let receiver = try await SpanReceiver.start()
        defer { receiver.stop() }
        try await withTestRelay(environment: Self.environment(port: receiver.port)) { relay in
            let fresh = BufferedDeliveryTests.delivery(1, document: "doc-trace-1")
            #expect(try await relay.post(headers: fresh.headers, body: fresh.body).status == 202)
            let continued = BufferedDeliveryTests.delivery(2, document: "doc-trace-2")
            let traceparent = "00-\(Self.incomingTrace)-\(Self.incomingSpan)-01"
            let withParent = continued.headers + [("traceparent", traceparent), ("tracestate", "vendor=opaque")]
            #expect(try await relay.post(headers: withParent, body: continued.body).status == 202)
            #expect(try await relay.post(headers: fresh.headers, body: fresh.body).status == 200, "duplicate")
            let forged = fresh.headers.map { $0.0.lowercased() == "x-docutray-signature" ? ($0.0, "sha256=00") : $0 }
            let badParent = [("traceparent", "00-zz-not-a-trace-01")]
            #expect(try await relay.post(headers: forged + badParent, body: fresh.body).status == 401)

            let spans = try await receiver.waitForSpans { spans in
                spans.filter { $0.name == "POST /webhooks/{source}" }.count == 4
                    && spans.filter { $0.name.hasPrefix("send ") }.count == 2
            }
            let servers = spans.filter { $0.name == "POST /webhooks/{source}" }

            // The first delivery: a new trace, its steps children of the request's span.
            let first = try #require(
                servers.first {
                    $0.attributes["webhook.delivery_id"] == fresh.id && $0.attributes["webhook.status"] == "published"
                }
            )
            #expect(first.kind == "SPAN_KIND_SERVER")
            #expect(first.parentSpanID.isEmpty, "no traceparent came in: the relay starts the trace")
            #expect(first.attributes["http.request.method"] == "POST")
            #expect(first.attributes["http.route"] == "/webhooks/{source}")
            #expect(first.attributes["http.response.status_code"] == "202")
            #expect(first.attributes["webhook.source"] == "docutray")
            #expect(first.attributes["webhook.event_type"] == "CONVERSION_STARTED")
            #expect(first.resource["service.name"] == "webhook-relay")
            let steps = spans.filter { $0.traceID == first.traceID && $0.parentSpanID == first.spanID }
            #expect(Set(steps.map(\.name)) == ["verify", "dedup", "send docutray.conversion.started"])
            let dedup = try #require(steps.first { $0.name == "dedup" })
            #expect(dedup.attributes["webhook.dedup"] == "fresh")
            let send = try #require(steps.first { $0.name.hasPrefix("send ") })
            #expect(send.kind == "SPAN_KIND_PRODUCER")
            #expect(send.attributes["messaging.system"] == "kafka")
            #expect(send.attributes["messaging.operation.type"] == "send")
            #expect(send.attributes["messaging.destination.name"] == "docutray.conversion.started")
            #expect(send.attributes["messaging.message.id"] == fresh.id)
            #expect(send.attributes["messaging.kafka.message.key"] == "doc-trace-1")
            #expect(send.attributes["webhook.delivery.outcome"] == "published")
            #expect(send.attributes["messaging.destination.partition.id"] != nil)
            #expect(send.attributes["messaging.kafka.offset"] != nil)

            // The second continues the sender's trace.
            let second = try #require(servers.first { $0.attributes["webhook.delivery_id"] == continued.id })
            #expect(second.traceID == Self.incomingTrace)
            #expect(second.parentSpanID == Self.incomingSpan)
            let secondSend = try #require(
                spans.first { $0.name.hasPrefix("send ") && $0.traceID == Self.incomingTrace }
            )
            #expect(secondSend.parentSpanID == second.spanID)

            // The duplicate is a trace of its own that sends nothing; the forged one fails verify
            // and its malformed traceparent starts a new trace.
            let duplicate = try #require(servers.first { $0.attributes["webhook.status"] == "duplicate" })
            let duplicateSteps = spans.filter { $0.parentSpanID == duplicate.spanID }
            #expect(Set(duplicateSteps.map(\.name)) == ["verify", "dedup"])
            #expect(duplicateSteps.first { $0.name == "dedup" }?.attributes["webhook.dedup"] == "duplicate")
            let refused = try #require(servers.first { $0.attributes["http.response.status_code"] == "401" })
            #expect(refused.parentSpanID.isEmpty)
            #expect(refused.attributes["error.type"] == "invalid_signature")
            let failedVerify = try #require(spans.first { $0.parentSpanID == refused.spanID })
            #expect(failedVerify.name == "verify")
            #expect(failedVerify.status.code == 2, "STATUS_CODE_ERROR")
            #expect(Set(servers.map(\.traceID)).count == 4, "one trace per delivery")

            // No secret, signature or body in any span.
            let signature = try #require(fresh.headers.first { $0.0.lowercased() == "x-docutray-signature" }?.1)
            for span in spans {
                for value in span.attributes.values {
                    #expect(!value.contains(SignatureVector.secret))
                    #expect(!value.contains(signature))
                    #expect(!value.contains("PROCESSING"), "no body in \(span.name)")
                }
            }

            // The records carry the send spans' contexts: a consumer's span is their child.
            let records = try await relay.consumer().waitForMessages(topic: "docutray.conversion.started", count: 2)
            let firstRecord = try #require(records.first { $0.header("ce_id") == fresh.id })
            #expect(firstRecord.header("traceparent") == "00-\(first.traceID)-\(send.spanID)-01")
            #expect(firstRecord.header("ce_traceparent") == firstRecord.header("traceparent"))
            #expect(firstRecord.header("tracestate") == nil)
            let secondRecord = try #require(records.first { $0.header("ce_id") == continued.id })
            #expect(secondRecord.header("traceparent") == "00-\(Self.incomingTrace)-\(secondSend.spanID)-01")
            #expect(secondRecord.header("tracestate") == "vendor=opaque")
            #expect(secondRecord.header("ce_tracestate") == "vendor=opaque")

            // The Python consumer example finds the same trace.
            let script = Repository.path("examples/consumers/python/consumer.py")
            let run = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", script, "--bootstrap", relay.cluster.bootstrapServers, "--secret",
                    SignatureVector.secret, "--webhook-url", SignatureVector.webhookURL, "--max-messages", "2",
                    "--idle-timeout", "30", "--json",
                ],
                timeout: .seconds(90)
            )
            #expect(run.status == 0, "\(run.stderr.suffix(1500))")
            let seen = try run.stdout.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            let traces = seen.compactMap { $0["trace"] as? [String: Any] }
            #expect(
                Set(traces.compactMap { $0["trace_id"] as? String }) == [first.traceID, Self.incomingTrace]
            )
            #expect(Set(traces.compactMap { $0["parent_span_id"] as? String }) == [send.spanID, secondSend.spanID])

            #expect(Self.spansCounted(relay, "exported") >= Double(spans.count))
        }
    }

    @Test("A buffered event's later publish is a send span of its own trace, linked to the request's")
    func retryLinkedToRequest() async throws {
        let receiver = try await SpanReceiver.start()
        defer { receiver.stop() }
        let environment = Self.environment(port: receiver.port, extra: BufferedDeliveryTests.fastRetries)
        try await withTestRelay(environment: environment) { relay in
            let warm = BufferedDeliveryTests.delivery(0, document: "doc-trace-warm")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)
            try relay.cluster.setBrokerDown()
            let delivery = BufferedDeliveryTests.delivery(1, document: "doc-trace-buffered")
            let response = try await relay.post(headers: delivery.headers, body: delivery.body)
            #expect(BufferedDeliveryTests.status(response) == "buffered")
            try relay.cluster.setBrokerUp()

            let spans = try await receiver.waitForSpans(timeout: .seconds(60)) { spans in
                spans.contains { $0.attributes["webhook.delivery.outcome"] == "delivered" }
            }
            let request = try #require(
                spans.first {
                    $0.name == "POST /webhooks/{source}" && $0.attributes["webhook.delivery_id"] == delivery.id
                }
            )
            #expect(request.attributes["webhook.status"] == "buffered")
            let send = try #require(
                spans.first { $0.parentSpanID == request.spanID && $0.name.hasPrefix("send ") }
            )
            #expect(send.attributes["webhook.delivery.outcome"] == "buffered", "ends at the buffer's fsync")
            let retry = try #require(spans.first { $0.attributes["webhook.delivery.outcome"] == "delivered" })
            #expect(retry.name == "send docutray.conversion.started")
            #expect(retry.kind == "SPAN_KIND_PRODUCER")
            #expect(retry.traceID != request.traceID, "a trace of its own")
            #expect(retry.parentSpanID.isEmpty)
            #expect(retry.links.map(\.traceID) == [request.traceID])
            #expect(retry.links.map(\.spanID) == [send.spanID])
            #expect(retry.attributes["messaging.message.id"] == delivery.id)
            #expect(Int(retry.attributes["webhook.delivery.attempt"] ?? "") ?? 0 >= 1)

            // The published record still names the request's trace.
            let records = try await relay.consumer().waitForMessages(topic: "docutray.conversion.started", count: 2)
            let record = try #require(records.first { $0.header("ce_id") == delivery.id })
            #expect(record.header("traceparent") == "00-\(request.traceID)-\(send.spanID)-01")
        }
    }

    @Test(
        "A batch delivery: one request span, a dedup and a send span per event, each record carrying its own send span"
    )
    func batchTrace() async throws {
        let receiver = try await SpanReceiver.start()
        defer { receiver.stop() }
        let environment = Self.environment(port: receiver.port, extra: BatchEndToEndTests.environment)
        let clock = ManualWallClock(unixSeconds: BatchEndToEndTests.now)
        try await withTestRelay(environment: environment, clock: clock) { relay in
            let body = BatchEndToEndTests.batch(
                BatchEndToEndTests.event(3001, object: 1),
                BatchEndToEndTests.event(3002, object: 2)
            )
            #expect(try await BatchEndToEndTests.post(relay, body).status == 202)
            let spans = try await receiver.waitForSpans { spans in
                spans.filter { $0.name.hasPrefix("send ") }.count == 2
                    && spans.contains { $0.name == "POST /webhooks/{source}" }
            }
            let request = try #require(spans.first { $0.name == "POST /webhooks/{source}" })
            #expect(request.attributes["webhook.event_type"] == "batch")
            let steps = spans.filter { $0.parentSpanID == request.spanID }
            #expect(steps.filter { $0.name == "verify" }.count == 1)
            #expect(steps.filter { $0.name == "dedup" }.count == 2)
            let sends = steps.filter { $0.name == "send hubspot.contact.creation" }
            #expect(
                Set(sends.compactMap { $0.attributes["messaging.message.id"] }) == [
                    "62515-2001-3001", "62515-2001-3002",
                ]
            )
            let records = try await relay.consumer().waitForMessages(topic: "hubspot.contact.creation", count: 2)
            for record in records {
                let send = try #require(sends.first { $0.attributes["messaging.message.id"] == record.header("ce_id") })
                #expect(record.header("traceparent") == "00-\(request.traceID)-\(send.spanID)-01")
            }
        }
    }

    @Test(
        "Sampled out: an unsampled trace still reaches the record; always_off records nothing and passes the sender's on"
    )
    func sampledOut() async throws {
        let receiver = try await SpanReceiver.start()
        defer { receiver.stop() }
        let unsampled = "00-\(Self.incomingTrace)-\(Self.incomingSpan)-00"
        try await withTestRelay(environment: Self.environment(port: receiver.port)) { relay in
            let delivery = BufferedDeliveryTests.delivery(1, document: "doc-unsampled")
            let headers = delivery.headers + [("traceparent", unsampled)]
            #expect(try await relay.post(headers: headers, body: delivery.body).status == 202)
            let record = try #require(
                try await relay.consumer().waitForMessages(topic: "docutray.conversion.started", count: 1).first
            )
            let carried = try #require(record.header("traceparent"))
            #expect(carried.hasPrefix("00-\(Self.incomingTrace)-") && carried.hasSuffix("-00"))
            #expect(carried != unsampled, "the relay's own span id, not flagged sampled")
        }
        let alwaysOff = Self.environment(port: receiver.port, extra: ["OTEL_TRACES_SAMPLER": "always_off"])
        try await withTestRelay(environment: alwaysOff) { relay in
            let traced = BufferedDeliveryTests.delivery(2, document: "doc-off-1")
            let sampled = "00-\(Self.incomingTrace)-\(Self.incomingSpan)-01"
            #expect(
                try await relay.post(headers: traced.headers + [("traceparent", sampled)], body: traced.body).status
                    == 202
            )
            let plain = BufferedDeliveryTests.delivery(3, document: "doc-off-2")
            #expect(try await relay.post(headers: plain.headers, body: plain.body).status == 202)
            let records = try await relay.consumer().waitForMessages(topic: "docutray.conversion.started", count: 2)
            #expect(records.first { $0.header("ce_id") == traced.id }?.header("traceparent") == sampled)
            #expect(
                records.first { $0.header("ce_id") == plain.id }?.headers.contains { $0.name == "traceparent" } == false
            )
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(receiver.spans.isEmpty, "nothing sampled: \(receiver.spans.map(\.name))")
    }

    @Test("A collector that is gone or hangs: every delivery is answered as before, spans are dropped and counted")
    func collectorGoneOrHanging() async throws {
        // Gone: nothing listens on the port.
        let closedPort = try FreePort.find()
        try await withTestRelay(environment: Self.environment(port: closedPort)) { relay in
            for number in 1...20 {
                let delivery = BufferedDeliveryTests.delivery(number, document: "doc-gone-\(number)")
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                #expect(BufferedDeliveryTests.status(response) == "published")
            }
            try await waitFor { relay.logs.entries.contains { $0.message.hasPrefix("Trace export failed") } }
            try await waitFor { Self.spansCounted(relay, "dropped") >= 80 }
            #expect(relay.logs.entries.filter { $0.message.hasPrefix("Trace export failed") }.count == 1)

            // The collector comes back on that port: spans flow again, and that is logged once.
            let back = try await SpanReceiver.start(port: closedPort)
            defer { back.stop() }
            let later = BufferedDeliveryTests.delivery(21, document: "doc-back")
            #expect(try await relay.post(headers: later.headers, body: later.body).status == 202)
            _ = try await back.waitForSpans { spans in
                spans.contains { $0.attributes["webhook.delivery_id"] == later.id }
            }
            try await waitFor { relay.logs.entries.contains { $0.message == "Trace export recovered" } }
            #expect(Self.spansCounted(relay, "exported") >= 4)
        }

        // Hangs: takes requests and never answers; the queue holds 16 spans.
        let stalled = try await SpanReceiver.start(stall: true)
        defer { stalled.stop() }
        let environment = Self.environment(
            port: stalled.port,
            extra: ["OTEL_BSP_MAX_QUEUE_SIZE": "16", "RELAY_TRACING_EXPORT_TIMEOUT": "1s"]
        )
        try await withTestRelay(environment: environment) { relay in
            for number in 1...50 {
                let delivery = BufferedDeliveryTests.delivery(number, document: "doc-hung-\(number)")
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                #expect(BufferedDeliveryTests.status(response) == "published")
            }
            // 50 deliveries make 200 spans; at most the queue and the batch in export are kept.
            try await waitFor { Self.spansCounted(relay, "dropped") >= 150 }
            let records = try await relay.consumer().readAll(topic: "docutray.conversion.started", timeout: .seconds(2))
            #expect(records.count == 50)
        }
    }
}

/// The test's OTLP/HTTP receiver, a child process: every span it decoded.
final class SpanReceiver: Sendable {
    let process: ChildProcess
    let port: Int

    private init(process: ChildProcess, port: Int) {
        self.process = process
        self.port = port
    }

    /// Starts a receiver on `port` (0: one the system picks); `stall`: it never answers.
    static func start(port: Int = 0, stall: Bool = false) async throws -> SpanReceiver {
        let script = Repository.path("Tests/Tracing/otlp_receiver.py")
        let process = try ChildProcess(
            "/usr/bin/env",
            ["python3", script, "--lifetime", "240", "--port", String(port)] + (stall ? ["--stall"] : [])
        )
        try await process.waitForOutput(containing: "listening ")
        let line = process.standardOutput.split(separator: "\n").first { $0.hasPrefix("listening ") }
        let port = try #require(line.flatMap { Int($0.dropFirst("listening ".count)) })
        return SpanReceiver(process: process, port: port)
    }

    /// The spans received so far.
    var spans: [ReceivedSpan] {
        process.standardOutput.split(separator: "\n").compactMap { line in
            line.hasPrefix("{") ? try? JSONDecoder().decode(ReceivedSpan.self, from: Data(line.utf8)) : nil
        }
    }

    /// The spans once `condition` holds for them.
    func waitForSpans(
        timeout: Duration = .seconds(30),
        _ condition: ([ReceivedSpan]) -> Bool
    ) async throws -> [ReceivedSpan] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let spans = self.spans
            if condition(spans) { return spans }
            guard ContinuousClock.now < deadline else {
                throw HTTPTestClient.Failure(
                    description: "spans received: \(spans.map(\.name)); stderr: \(process.standardError.suffix(1000))"
                )
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func stop() { process.signal(SIGKILL) }
}

/// One span as the receiver printed it.
struct ReceivedSpan: Decodable, Sendable {
    struct Status: Decodable, Sendable {
        var code: Int
    }

    struct Link: Decodable, Sendable {
        var traceID: String
        var spanID: String

        enum CodingKeys: String, CodingKey {
            case traceID = "trace_id"
            case spanID = "span_id"
        }
    }

    var traceID: String
    var spanID: String
    var parentSpanID: String
    var name: String
    var kind: String
    var status: Status
    /// Every value as text.
    var attributes: [String: String]
    var links: [Link]
    var resource: [String: String]

    enum CodingKeys: String, CodingKey {
        case traceID = "trace_id"
        case spanID = "span_id"
        case parentSpanID = "parent_span_id"
        case name, kind, status, attributes, links, resource
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        traceID = try container.decode(String.self, forKey: .traceID)
        spanID = try container.decode(String.self, forKey: .spanID)
        parentSpanID = try container.decode(String.self, forKey: .parentSpanID)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(String.self, forKey: .kind)
        status = try container.decode(Status.self, forKey: .status)
        attributes = try container.decode([String: AnyValue].self, forKey: .attributes).mapValues(\.text)
        links = try container.decode([Link].self, forKey: .links)
        resource = try container.decode([String: AnyValue].self, forKey: .resource).mapValues(\.text)
    }

    /// An attribute value of any JSON kind, as text.
    struct AnyValue: Decodable, Sendable {
        var text: String

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let text = try? value.decode(String.self) {
                self.text = text
            } else if let number = try? value.decode(Int64.self) {
                text = String(number)
            } else if let flag = try? value.decode(Bool.self) {
                text = String(flag)
            } else {
                text = String(try value.decode(Double.self))
            }
        }
    }
}
