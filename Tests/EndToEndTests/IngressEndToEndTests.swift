import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import SenderKit
import Senders
import Testing

/// The relay through the wire: real HTTP on a loopback port, real Kafka protocol to the mock cluster,
/// and a real consumer reading back what was produced.
@Suite("Webhooks in, CloudEvents on Kafka out", .serialized, .timeLimit(.minutes(3)))
struct IngressEndToEndTests {
    @Test("Every fixture event lands on its topic with its key, its exact body and every ce_ header")
    func fixtureEventsReachKafka() async throws {
        let vectors = try SignatureVector.all()
        try await withTestRelay { relay in
            for vector in vectors {
                let response = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
                #expect(response.status == 202, "\(vector.deliveryID): \(response.bodyText)")
                let answer = try Self.json(response)
                #expect(answer["id"] as? String == vector.deliveryID)
                #expect(answer["status"] as? String == "published")
                #expect(answer["topic"] as? String == Self.topic(of: vector.event))
            }
            let consumer = try relay.consumer()
            for vector in vectors {
                let topic = Self.topic(of: vector.event)
                let expectedCount = vectors.filter { $0.event == vector.event }.count
                let messages = try await consumer.waitForMessages(topic: topic, count: expectedCount)
                #expect(messages.count == expectedCount, "\(topic)")
                let message = try #require(messages.first { $0.header("ce_id") == vector.deliveryID })
                let documentID = try Self.documentID(of: vector)
                let (family, action) = Self.familyAndAction(vector.event)
                #expect(message.topic == topic)
                #expect(message.keyString == documentID)
                #expect(message.value == vector.bodyBytes, "value must be byte-exact")
                #expect(message.header("ce_specversion") == "1.0")
                #expect(message.header("ce_source") == "https://app.docutray.com")
                #expect(message.header("ce_type") == "com.docutray.\(family).\(action)")
                #expect(message.header("ce_time") == "2024-01-15T10:30:00Z")
                #expect(message.header("ce_subject") == documentID)
                #expect(message.header("ce_partitionkey") == documentID)
                #expect(message.header("content-type") == "application/json")
                #expect(message.header("ce_relayreceivedtime") == "2024-01-15T10:30:00.000Z")
                #expect(message.header("ce_relaychecks") == "timestamp,body-signature,auth-signature")
                #expect(message.header("ce_relayattempt") == "1")
                #expect(message.header("x-docutray-signature") == vector.headers["x-docutray-signature"])
                #expect(message.header("x-docutray-auth-signature") == vector.headers["x-docutray-auth-signature"])
            }
            // One document's events share a key and therefore a partition.
            let steps =
                try await consumer.readAll(topic: "docutray.step.started")
                + consumer.readAll(topic: "docutray.step.completed") + consumer.readAll(topic: "docutray.step.failed")
            #expect(Set(steps.map(\.partition)).count == 1)
        }
    }

    @Test(
        "Bodies up to the size limit (here 1.5 MiB, above librdkafka's default 1,000,000) are published, not buffered"
    )
    func largeBodiesArePublished() async throws {
        try await withTestRelay { relay in
            var sent: [(id: String, body: [UInt8])] = []
            for (number, size) in [70_000, 400_000, 1_572_864].enumerated() {
                let delivery = BufferedDeliveryTests.delivery(number, document: "doc-large-\(number)", padding: size)
                let response = try await relay.post(headers: delivery.headers, body: delivery.body)
                #expect(response.status == 202, "\(size) bytes: \(response.bodyText)")
                #expect(try Self.json(response)["status"] as? String == "published", "\(size) bytes")
                sent.append((delivery.id, delivery.body))
            }
            let messages = try await relay.consumer().waitForMessages(topic: "docutray.conversion.started", count: 3)
            for (id, body) in sent {
                let message = try #require(messages.first { $0.header("ce_id") == id })
                #expect(message.value == body, "\(body.count) bytes, byte for byte")
            }
            try await waitFor { relay.application.buffer.statistics.archivedCount == 3 }
            let archived = try relay.application.buffer.records()
            #expect(archived.map(\.record.value) == sent.map(\.body), "the archive copies read back intact")
        }
    }

    @Test("A retried delivery is answered 200 and published once; the same id with another body is 409")
    func replayProtection() async throws {
        let vector = try #require(try SignatureVector.all().first)
        try await withTestRelay { relay in
            let first = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(first.status == 202)
            let retry = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(retry.status == 200)
            #expect(try Self.json(retry)["status"] as? String == "duplicate")

            let otherBody = Array(#"{"conversion_id":"clm123abc456def","status":"PROCESSING"}"#.utf8)
            let conflicting = DeliveryFactory().headers(
                body: otherBody,
                event: vector.event,
                deliveryID: vector.deliveryID
            )
            let conflict = try await relay.post(headers: conflicting, body: otherBody)
            #expect(conflict.status == 409)
            #expect(try Self.json(conflict)["error"] as? String == "request_id_conflict")

            let messages = try await relay.consumer().readAll(topic: "docutray.conversion.started")
            #expect(messages.filter { $0.header("ce_id") == vector.deliveryID }.count == 1)
        }
    }

    @Test("An event type the relay does not know is verified and published through the template")
    func unknownEventType() async throws {
        let body = Array(#"{"batch_id":"batch_42","status":"DONE"}"#.utf8)
        try await withTestRelay { relay in
            let response = try await relay.post(
                headers: DeliveryFactory().headers(body: body, event: "BATCH_FINISHED", deliveryID: "req_batch"),
                body: body
            )
            #expect(response.status == 202)
            let message = try #require(
                try await relay.consumer().waitForMessages(topic: "docutray.batch.finished", count: 1).first
            )
            #expect(message.keyString == "batch_42")
            #expect(message.header("ce_type") == "com.docutray.batch.finished")
            #expect(message.value == body)
        }
    }

    @Test("Structured mode publishes one CloudEvents JSON document per event")
    func structuredMode() async throws {
        let vector = try #require(try SignatureVector.all().first { $0.event == "STEP_FAILED" })
        try await withTestRelay(environment: ["RELAY_DOCUTRAY_CONTENT_MODE": "structured"]) { relay in
            #expect(try await relay.post(headers: vector.headerList, body: vector.bodyBytes).status == 202)
            let message = try #require(
                try await relay.consumer().waitForMessages(topic: "docutray.step.failed", count: 1).first
            )
            #expect(message.header("content-type") == "application/cloudevents+json; charset=UTF-8")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any]
            )
            #expect(document["id"] as? String == vector.deliveryID)
            #expect(document["type"] as? String == "com.docutray.step.failed")
            #expect((document["data"] as? [String: Any])?["step_execution_id"] as? String == "step_exec_xyz123")
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    static func topic(of event: String) -> String {
        let (family, action) = familyAndAction(event)
        return "docutray.\(family).\(action)"
    }

    static func familyAndAction(_ event: String) -> (String, String) {
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
