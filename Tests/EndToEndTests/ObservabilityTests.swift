import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import SenderKit
import Senders
import Testing

/// Metrics, health and readiness through HTTP against a running relay.
@Suite("Metrics, health and readiness", .serialized, .timeLimit(.minutes(3)))
struct ObservabilityTests {
    static let token = "metrics-token-0123456789"

    static func metrics(_ relay: TestRelay) async throws -> String {
        let response = try await HTTPTestClient.send(
            port: relay.adminPort,
            method: "GET",
            path: "/metrics",
            headers: [("authorization", "Bearer \(token)")]
        )
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain") == true)
        return response.bodyText
    }

    /// The value of the sample whose name and labels contain every fragment, 0 if absent.
    static func sample(_ text: String, _ name: String, _ fragments: String...) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let series = line.split(separator: " ").dropLast().joined(separator: " ")
            guard series == name || series.hasPrefix(name + "{"), fragments.allSatisfy({ series.contains($0) }) else {
                continue
            }
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    @Test("Counters, histograms and buffer gauges move as requests are made")
    func metricsMove() async throws {
        let environment = ["RELAY_ADMIN_TOKEN": Self.token, "RELAY_KAFKA_PUBLISH_TIMEOUT": "500ms"]
        try await withTestRelay(environment: environment) { relay in
            let unauthorized = try await HTTPTestClient.send(port: relay.adminPort, method: "GET", path: "/metrics")
            #expect(unauthorized.status == 401)

            let before = try await Self.metrics(relay)
            let published = #"outcome="published""#
            let startCount = Self.sample(before, "relay_requests_total", published)
            let vectors = try SignatureVector.all()
            #expect(try await relay.post(headers: vectors[0].headerList, body: vectors[0].bodyBytes).status == 202)
            #expect(
                try await relay.post(headers: vectors[1].headerList, body: vectors[1].bodyBytes + [0x20]).status == 401
            )
            // The archive copy is written by the buffer's writer after the answer, off the request path.
            try await waitFor(timeout: .seconds(5)) { relay.application.buffer.statistics.archivedCount == 1 }

            let after = try await Self.metrics(relay)
            #expect(
                Self.sample(after, "relay_requests_total", published, #"event_type="CONVERSION_STARTED""#) == startCount
                    + 1
            )
            #expect(
                Self.sample(after, "relay_requests_total", #"outcome="invalid_signature""#, #"event_type="unverified""#)
                    == 1
            )
            #expect(Self.sample(after, "relay_request_duration_seconds_count") >= 2)
            #expect(Self.sample(after, "relay_verify_duration_seconds_count") >= 1)
            #expect(Self.sample(after, "relay_publish_total", #"outcome="published""#) >= 1)
            #expect(Self.sample(after, "relay_publish_duration_seconds_count") >= 1)
            #expect(Self.sample(after, "relay_kafka_connected") == 1)
            #expect(Self.sample(after, "relay_buffer_archived_records") == 1)
            #expect(after.contains("relay_buffer_oldest_pending_age_seconds"))

            try relay.cluster.setBrokerDown()
            #expect(try await relay.post(headers: vectors[2].headerList, body: vectors[2].bodyBytes).status == 202)
            try await waitFor { relay.application.producer.connectivity != .reachable }
            let down = try await Self.metrics(relay)
            #expect(Self.sample(down, "relay_buffer_pending_records") == 1)
            #expect(Self.sample(down, "relay_publish_total", #"outcome="buffered""#) == 1)
            #expect(Self.sample(down, "relay_kafka_connected") == 0)
            #expect(Self.sample(down, "relay_buffer_fsync_seconds_count") >= 1)

            try relay.cluster.setBrokerUp()
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
            let drained = try await Self.metrics(relay)
            let families = drained.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("# TYPE ") else { return nil }
                return String(line.split(separator: " ")[2])
            }
            #expect(!families.isEmpty)
            for family in families {
                #expect(RelayMetrics.names.contains(family), "\(family) is not in RelayMetrics.names")
            }
            #expect(Self.sample(drained, "relay_retries_total", #"outcome="delivered""#) >= 1)
            #expect(Self.sample(drained, "relay_buffer_pending_records") == 0)
        }
    }

    @Test("Readiness flips to 503 when Kafka is down and the buffer is full, and back once drained")
    func readiness() async throws {
        let environment = [
            "RELAY_ADMIN_TOKEN": Self.token,
            "RELAY_KAFKA_PUBLISH_TIMEOUT": "300ms",
            "RELAY_BUFFER_MAX_SIZE": "1MiB",
            "RELAY_BUFFER_SEGMENT_SIZE": "256KiB",
            "RELAY_ARCHIVE_RETENTION": "0",
            "RELAY_HTTP_MAX_BODY_SIZE": "200KiB",
            "RELAY_RETRY_INITIAL_BACKOFF": "50ms",
            "RELAY_RETRY_MAX_BACKOFF": "300ms",
            "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MAX_MS": "300",
        ]
        try await withTestRelay(environment: environment) { relay in
            func ready() async throws -> (Int, [String: Any]) {
                let response = try await HTTPTestClient.send(port: relay.adminPort, method: "GET", path: "/readyz")
                let document = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                )
                return (response.status, document)
            }
            #expect(try await ready().0 == 200)
            let ingress = try await HTTPTestClient.send(port: relay.port, method: "GET", path: "/readyz")
            #expect(ingress.status == 200, "readiness is on the webhook port too")
            #expect(try await HTTPTestClient.send(port: relay.adminPort, method: "GET", path: "/healthz").status == 200)

            try relay.cluster.setBrokerDown()
            var number = 0
            while relay.application.buffer.statistics.totalBytes + 200 * 1024 <= 1 << 20, number < 40 {
                number += 1
                let body = Array(
                    #"{"conversion_id":"doc-\#(number)","pad":"\#(String(repeating: "x", count: 150_000))"}"#.utf8
                )
                let headers = DeliveryFactory().headers(
                    body: body,
                    event: "CONVERSION_STARTED",
                    deliveryID: "req_ready_\(number)"
                )
                _ = try await relay.post(headers: headers, body: body)
            }
            try await waitFor { relay.application.producer.connectivity != .reachable }
            let (status, document) = try await ready()
            #expect(status == 503)
            // Ready or not, and nothing about Kafka or the buffer: probes need no more.
            #expect(document.keys.sorted() == ["ready"])
            #expect(document["ready"] as? Bool == false)
            let overview = try await HTTPTestClient.send(
                port: relay.adminPort,
                method: "GET",
                path: "/admin/overview",
                headers: [("authorization", "Bearer \(Self.token)")]
            )
            #expect(overview.bodyText.contains(#""kafka":"unreachable""#), "behind the token: \(overview.bodyText)")

            try relay.cluster.setBrokerUp()
            try await waitFor(timeout: .seconds(60)) { relay.application.buffer.statistics.pendingCount == 0 }
            try await waitFor { relay.application.buffer.statistics.totalBytes + 200 * 1024 <= 1 << 20 }
            #expect(try await ready().0 == 200)
        }
    }

    @Test("The start-up log shows the effective configuration without any secret")
    func effectiveConfigurationLogged() async throws {
        let environment = [
            "RELAY_ADMIN_TOKEN": Self.token,
            "RELAY_KAFKA_PROPERTY_SASL_PASSWORD": "kafka-password-value",
            "RELAY_KAFKA_PROPERTY_SECURITY_PROTOCOL": "plaintext",
        ]
        try await withTestRelay(environment: environment) { relay in
            let start = try #require(relay.logs.entries.first { $0.message == "Starting webhook-relay" })
            #expect(start.metadata["config.kafka.bootstrap_servers"] == relay.cluster.bootstrapServers)
            #expect(start.metadata["config.kafka.properties"]?.contains("sasl.password=<redacted>") == true)
            #expect(start.metadata["config.kafka.properties"]?.contains("security.protocol=plaintext") == true)
            for secret in [SignatureVector.secret, Self.token, "kafka-password-value"] {
                #expect(!relay.logs.entries.contains { $0.line.contains(secret) }, "\(secret) leaked into the log")
            }
        }
    }
}
