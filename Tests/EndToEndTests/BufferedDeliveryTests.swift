import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import SenderKit
import Senders
import Testing

/// Kafka slow, down or refusing: every event answered 2xx still reaches Kafka (or the dead-letter
/// topic), in order per key, without duplicates the relay could have avoided.
@Suite("Buffered delivery through outages", .serialized, .timeLimit(.minutes(5)))
struct BufferedDeliveryTests {
    /// Quick retries and reconnects, so outages in tests are short.
    static let fastRetries = [
        "RELAY_KAFKA_PUBLISH_TIMEOUT": "500ms",
        "RELAY_RETRY_INITIAL_BACKOFF": "100ms",
        "RELAY_RETRY_MAX_BACKOFF": "500ms",
        "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MS": "50",
        "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MAX_MS": "300",
    ]

    /// A signed CONVERSION_* delivery about document `document`.
    static func delivery(
        _ number: Int,
        document: String,
        event: String = "CONVERSION_STARTED",
        padding: Int = 0
    ) -> (headers: [(String, String)], body: [UInt8], id: String) {
        let id = "req_buf_\(number)_\(UUID().uuidString.prefix(6))"
        let pad = String(repeating: "x", count: padding)
        let body = Array(#"{"conversion_id":"\#(document)","status":"PROCESSING","n":\#(number),"pad":"\#(pad)"}"#.utf8)
        return (DeliveryFactory().headers(body: body, event: event, deliveryID: id), body, id)
    }

    static func status(_ response: TestResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["status"] as? String
    }

    @Test(
        "Broker down: answers are `buffered` within the publish timeout; back up: all delivered, in order per key, once"
    )
    func brokerDownThenUp() async throws {
        try await withTestRelay(environment: Self.fastRetries) { relay in
            let warm = Self.delivery(0, document: "doc-warm")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)

            try relay.cluster.setBrokerDown()
            // The broker stays down until after the loop, so a relay that waited for it would never
            // answer. The bound is a sender's patience (GitHub gives up after 10 s), not the 500 ms
            // publish timeout: a starved CI machine can add seconds to an answer.
            let sendersPatience = Duration.seconds(10)
            var slowest = Duration.zero
            var posted: [(id: String, document: String)] = []
            for number in 1...30 {
                let document = "doc-\(number % 3)"
                let delivery = Self.delivery(number, document: document)
                let started = ContinuousClock.now
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                slowest = max(slowest, ContinuousClock.now - started)
                #expect(response.status == 202, "\(response.bodyText)")
                #expect(Self.status(response) == "buffered")
                posted.append((delivery.id, document))
            }
            #expect(slowest < sendersPatience, "answered while the broker was down; slowest \(slowest)")
            #expect(relay.application.buffer.statistics.pendingCount == 30)

            try relay.cluster.setBrokerUp()
            let messages = try await relay.consumer().waitForMessages(
                topic: "docutray.conversion.started",
                count: 31,
                timeout: .seconds(60)
            )
            let ids = messages.compactMap { $0.header("ce_id") }
            #expect(Set(ids) == Set(posted.map(\.id) + [warm.id]))
            #expect(ids.count == 31, "no duplicates")
            for document in ["doc-0", "doc-1", "doc-2"] {
                let sent = posted.filter { $0.document == document }.map(\.id)
                let received = messages.filter { $0.keyString == document }.map { $0.header("ce_id")! }
                #expect(received == sent, "per-key order for \(document)")
            }
            let attempts = messages.filter { $0.header("ce_id") != warm.id }.compactMap {
                Int($0.header("ce_relayattempt") ?? "")
            }
            #expect(attempts.allSatisfy { $0 >= 1 })
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
        }
    }

    @Test("Slow broker (request latency past the publish timeout): buffered, then delivered once")
    func slowBroker() async throws {
        try await withTestRelay(environment: Self.fastRetries) { relay in
            let warm = Self.delivery(0, document: "doc-rtt")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)
            try relay.cluster.setRoundTripTime(1500)
            var ids: [String] = []
            for number in 1...5 {
                let delivery = Self.delivery(number, document: "doc-rtt-\(number)")
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                #expect(response.status == 202)
                #expect(Self.status(response) == "buffered", "\(response.bodyText)")
                ids.append(delivery.id)
            }
            try relay.cluster.setRoundTripTime(0)
            let messages = try await relay.consumer().waitForMessages(
                topic: "docutray.conversion.started",
                count: 6,
                timeout: .seconds(60)
            )
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
            let received = try await relay.consumer().readAll(topic: "docutray.conversion.started").compactMap {
                $0.header("ce_id")
            }
            #expect(Set(messages.compactMap { $0.header("ce_id") }).isSuperset(of: ids))
            #expect(received.count == 6, "the in-flight copy was acknowledged and not published again: \(received)")
        }
    }

    @Test("A permanent refusal sends the event to the dead-letter topic with the reason in headers")
    func deadLetter() async throws {
        try await withTestRelay(environment: Self.fastRetries) { relay in
            let warm = Self.delivery(0, document: "doc-dlq")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)
            // On a loaded machine the warm-up can miss its publish timeout and be buffered; the
            // injected errors are for the next delivery, so let the retrier publish it first.
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
            // The request's own attempt and the retrier's attempt are both refused.
            relay.cluster.pushProduceErrors([.messageSizeTooLarge, .messageSizeTooLarge])
            let delivery = Self.delivery(1, document: "doc-dlq")
            let response = try await relay.post(headers: delivery.headers, body: delivery.body)
            #expect(response.status == 202)
            #expect(Self.status(response) == "buffered")

            let letters = try await relay.consumer().waitForMessages(
                topic: "docutray.deadletter",
                count: 1,
                timeout: .seconds(30)
            )
            let letter = try #require(letters.first)
            #expect(letter.header("ce_id") == delivery.id)
            #expect(letter.value == delivery.body)
            #expect(letter.header(Retrier.DeadLetterHeader.error) == "MSG_SIZE_TOO_LARGE")
            #expect(letter.header(Retrier.DeadLetterHeader.originalTopic) == "docutray.conversion.started")
            #expect(letter.header(Retrier.DeadLetterHeader.attempts) == "2")
            #expect(letter.header(Retrier.DeadLetterHeader.reason)?.isEmpty == false)
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
            #expect(relay.application.buffer.statistics.deadCount == 0)
        }
    }

    @Test("When the dead-letter topic refuses too, the event stays in the buffer as dead")
    func keptDead() async throws {
        try await withTestRelay(environment: Self.fastRetries) { relay in
            let warm = Self.delivery(0, document: "doc-dead")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)
            // On a loaded machine the warm-up can miss its publish timeout and be buffered; the
            // injected errors are for the next delivery, so let the retrier publish it first.
            try await waitFor { relay.application.buffer.statistics.pendingCount == 0 }
            relay.cluster.pushProduceErrors([
                .topicAuthorizationFailed, .topicAuthorizationFailed, .topicAuthorizationFailed,
            ])
            let delivery = Self.delivery(1, document: "doc-dead")
            #expect(try await relay.post(headers: delivery.headers, body: delivery.body).status == 202)
            try await waitFor { relay.application.buffer.statistics.deadCount == 1 }
            let dead = try relay.application.buffer.records { $0.state == .dead }
            #expect(dead.map(\.record.deliveryID) == [delivery.id])
            #expect(dead.first?.reason.contains("TOPIC_AUTHORIZATION_FAILED") == true)
        }
    }

    @Test("A full buffer answers 503 with Retry-After while Kafka is down, and accepts again once drained")
    func fullBuffer() async throws {
        var environment = Self.fastRetries
        environment["RELAY_BUFFER_MAX_SIZE"] = "1MiB"
        environment["RELAY_BUFFER_SEGMENT_SIZE"] = "256KiB"
        environment["RELAY_ARCHIVE_RETENTION"] = "0"
        try await withTestRelay(environment: environment) { relay in
            let warm = Self.delivery(0, document: "doc-full")
            #expect(try await relay.post(headers: warm.headers, body: warm.body).status == 202)
            try relay.cluster.setBrokerDown()
            var refused: TestResponse?
            for number in 1...20 {
                let delivery = Self.delivery(number, document: "doc-full-\(number)", padding: 100_000)
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                if response.status == 503 {
                    refused = response
                    break
                }
                #expect(response.status == 202)
            }
            let full = try #require(refused, "the buffer never filled")
            #expect(full.header("retry-after") != nil)
            #expect(full.bodyText.contains("unavailable"))
            #expect(!full.bodyText.contains(relay.application.configuration.buffer.path), "no file path in the answer")

            try relay.cluster.setBrokerUp()
            try await waitFor(timeout: .seconds(60)) { relay.application.buffer.statistics.pendingCount == 0 }
            let later = Self.delivery(99, document: "doc-full-later", padding: 100_000)
            #expect(try await relay.post(headers: later.headers, body: later.body).status == 202)
        }
    }

    @Test("Deduplication survives a restart on the same buffer directory")
    func dedupSurvivesRestart() async throws {
        let vector = try #require(try SignatureVector.all().first)
        let cluster = try MockKafkaCluster()
        let environment = ["RELAY_BUFFER_PATH": TestRelay.temporaryDirectory(prefix: "relay-dedup")]
        try await withTestRelay(environment: environment, cluster: cluster) { relay in
            let first = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(first.status == 202)
        }
        try await withTestRelay(environment: environment, cluster: cluster) { relay in
            let retry = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(retry.status == 200)
            #expect(Self.status(retry) == "duplicate")
            let otherBody = Array(#"{"conversion_id":"clm123abc456def","status":"CHANGED"}"#.utf8)
            let conflicting = DeliveryFactory().headers(
                body: otherBody,
                event: vector.event,
                deliveryID: vector.deliveryID
            )
            #expect(try await relay.post(headers: conflicting, body: otherBody).status == 409)
            let messages = try await relay.consumer().readAll(topic: "docutray.conversion.started")
            #expect(messages.filter { $0.header("ce_id") == vector.deliveryID }.count == 1)
        }
    }

    @Test("Published events are archived in the buffer; with RELAY_ARCHIVE_RETENTION=0 they are not")
    func archive() async throws {
        let delivery = Self.delivery(1, document: "doc-archive")
        try await withTestRelay { relay in
            #expect(try await relay.post(headers: delivery.headers, body: delivery.body).status == 202)
            try await waitFor { relay.application.buffer.statistics.archivedCount == 1 }
            let archived = try relay.application.buffer.records()
            #expect(archived.map(\.record.deliveryID) == [delivery.id])
            #expect(archived.first?.state == .delivered)
            #expect(archived.first?.record.value == delivery.body)
        }
        try await withTestRelay(environment: ["RELAY_ARCHIVE_RETENTION": "0"]) { relay in
            #expect(try await relay.post(headers: delivery.headers, body: delivery.body).status == 202)
            try await Task.sleep(for: .milliseconds(200))
            #expect(relay.application.buffer.statistics.archivedCount == 0)
        }
    }
}

/// Polls until `condition` holds, failing the test after `timeout`.
func waitFor(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
