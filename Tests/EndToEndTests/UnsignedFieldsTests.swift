import Foundation
import Logging
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Whoever reads a topic holds bodies and signatures. For senders that sign only the body, the
/// delivery id and event type headers are theirs to choose: they must not make a captured body new
/// again, open topics, or add metric labels.
@Suite("Unsigned fields do not steer the relay", .serialized, .timeLimit(.minutes(3)))
struct UnsignedFieldsTests {
    static let now = SenderEndToEndTests.now

    static func start(_ extra: [String: String] = [:]) async throws -> TestRelay {
        try await TestRelay.start(
            environment: SenderEndToEndTests.environment.merging(extra) { $1 },
            clock: ManualWallClock(unixSeconds: now)
        )
    }

    /// Headers of a delivery of `body` signed for `source`, as its sender would send it.
    static func signed(
        _ relay: TestRelay,
        _ source: String,
        body: [UInt8],
        eventType: String? = nil,
        id: String? = nil
    ) throws -> [(String, String)] {
        let scheme = try #require(relay.application.configuration.source(named: source)).scheme
        let delivery = OutgoingDelivery(body: body, eventType: eventType, deliveryID: id, timestamp: now)
        return try scheme.signedHeaders(delivery).map { ($0.name, $0.value) }
    }

    /// The headers with `name` set to `value` (the signature stays valid: the header is not signed).
    static func replacing(_ headers: [(String, String)], _ name: String, with value: String) -> [(String, String)] {
        headers.map { $0.0 == name ? ($0.0, value) : $0 }
    }

    static func metrics(_ relay: TestRelay) -> String {
        String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
    }

    @Test("GitHub: a captured body re-sent under new delivery ids and event names is a duplicate, published once")
    func gitHubBodyIsTheDelivery() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(#"{"action":"opened","number":9,"repository":{"full_name":"octo/replayed"}}"#.utf8)
        let original = try Self.signed(relay, "github", body: body, eventType: "pull_request", id: "gh-original-1")
        let first = try await relay.post(source: "github", headers: original, body: body)
        #expect(first.status == 202, "\(first.bodyText)")
        for (index, event) in ["pull_request", "issues", "pull_request_review"].enumerated() {
            let replayed = Self.replacing(
                Self.replacing(original, "x-github-delivery", with: "gh-forged-\(index)"),
                "x-github-event",
                with: event
            )
            let response = try await relay.post(source: "github", headers: replayed, body: body)
            #expect(response.status == 200, "\(event): \(response.bodyText)")
            #expect(response.bodyText.contains(#""status":"duplicate""#), "\(response.bodyText)")
        }
        let consumer = try relay.consumer()
        let published = try await consumer.waitForMessages(topic: "github.pull_request.opened", count: 1)
        #expect(published.count == 1)
        #expect(published.first?.header("ce_id") == "gh-original-1")
        // A body that differs is a new delivery, whatever id it carries (even one seen before).
        let other = Array(#"{"action":"opened","number":10,"repository":{"full_name":"octo/replayed"}}"#.utf8)
        let second = try Self.signed(relay, "github", body: other, eventType: "pull_request", id: "gh-original-1")
        #expect(try await relay.post(source: "github", headers: second, body: other).status == 202)
        try await relay.stop()
    }

    @Test("Shopify: an orders/create body re-sent as orders/paid under a new webhook id is a duplicate")
    func shopifyTopicSwap() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(#"{"id":450789469,"email":"bob@example.com","total_price":"10.00"}"#.utf8)
        let created = try Self.signed(relay, "shopify", body: body, eventType: "orders/create", id: "shop-wh-1")
        #expect(try await relay.post(source: "shopify", headers: created, body: body).status == 202)
        let swapped = Self.replacing(
            Self.replacing(created, "x-shopify-topic", with: "orders/paid"),
            "x-shopify-webhook-id",
            with: "shop-wh-forged"
        )
        let response = try await relay.post(source: "shopify", headers: swapped, body: body)
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.bodyText.contains(#""status":"duplicate""#))
        #expect(try await relay.consumer().waitForMessages(topic: "shopify.orders.create", count: 1).count == 1)
        try await relay.stop()
    }

    @Test("Invented event names in an unsigned header land on one overflow topic under one label; topics: can name one")
    func inventedTypesOverflow() async throws {
        let relay = try await Self.start(["RELAY_GITHUB_TOPICS": "custom_thing=github.custom"])
        defer { Task { try? await relay.stop() } }
        for index in 0..<5 {
            let body = Array(#"{"n":\#(index),"repository":{"full_name":"octo/invented"}}"#.utf8)
            let headers = try Self.signed(
                relay,
                "github",
                body: body,
                eventType: "invented_\(index)",
                id: "inv-\(index)"
            )
            let response = try await relay.post(source: "github", headers: headers, body: body)
            #expect(response.status == 202, "\(response.bodyText)")
            #expect(response.bodyText.contains(#""topic":"github.unrecognized""#), "\(response.bodyText)")
        }
        let named = Array(#"{"n":99,"repository":{"full_name":"octo/invented"}}"#.utf8)
        let namedHeaders = try Self.signed(relay, "github", body: named, eventType: "custom_thing", id: "inv-named")
        let routed = try await relay.post(source: "github", headers: namedHeaders, body: named)
        #expect(routed.bodyText.contains(#""topic":"github.custom""#), "\(routed.bodyText)")
        // A documented event with an action GitHub may add later keeps its own topic.
        let labeled = Array(#"{"action":"brand_new_action","repository":{"full_name":"octo/invented"}}"#.utf8)
        let labeledHeaders = try Self.signed(relay, "github", body: labeled, eventType: "label", id: "inv-label")
        let known = try await relay.post(source: "github", headers: labeledHeaders, body: labeled)
        #expect(known.bodyText.contains(#""topic":"github.label.brand_new_action""#), "\(known.bodyText)")

        let overflow = try await relay.consumer().waitForMessages(topic: "github.unrecognized", count: 5)
        #expect(overflow.count == 5)
        #expect(Set(overflow.compactMap { $0.header("ce_type") }).count == 5, "the claimed type is still on the record")
        let metrics = Self.metrics(relay)
        #expect(!metrics.contains("invented_"), "no label value per invented type")
        #expect(metrics.contains(#"event_type="unrecognized""#))
        #expect(metrics.contains(#"relay_unknown_event_types_total{source="github",event_type="unrecognized"} 5"#))
        try await relay.stop()
    }

    @Test("A sender that signs its event types publishes a new type through the template, as before")
    func signedTypesUseTheTemplate() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(#"{"id":"evt_new_1","type":"brand_new.kind","data":{"object":{"id":"x_1"}}}"#.utf8)
        let headers = try Self.signed(relay, "stripe", body: body)
        let response = try await relay.post(source: "stripe", headers: headers, body: body)
        #expect(response.bodyText.contains(#""topic":"stripe.brand_new.kind""#), "\(response.bodyText)")
        try await relay.stop()
    }

    @Test("At dedup.max_entries new deliveries get 503 overloaded with Retry-After; retries of known ones still 200")
    func dedupBound() async throws {
        let relay = try await Self.start(["RELAY_DEDUP_MAX_ENTRIES": "2"])
        defer { Task { try? await relay.stop() } }
        var first: (headers: [(String, String)], body: [UInt8])?
        for index in 0..<2 {
            let body = Array(#"{"id":"evt_cap_\#(index)","type":"charge.succeeded","data":{"object":{"id":"c"}}}"#.utf8)
            let headers = try Self.signed(relay, "stripe", body: body)
            #expect(try await relay.post(source: "stripe", headers: headers, body: body).status == 202)
            if first == nil { first = (headers, body) }
        }
        let body = Array(#"{"id":"evt_cap_2","type":"charge.succeeded","data":{"object":{"id":"c"}}}"#.utf8)
        let refused = try await relay.post(
            source: "stripe",
            headers: try Self.signed(relay, "stripe", body: body),
            body: body
        )
        #expect(refused.status == 503, "\(refused.bodyText)")
        #expect(refused.bodyText.contains(#""error":"overloaded""#))
        #expect(refused.bodyText.contains("dedup.max_entries"))
        #expect(refused.header("retry-after") != nil)
        let retry = try #require(first)
        #expect(try await relay.post(source: "stripe", headers: retry.headers, body: retry.body).status == 200)
        try await relay.stop()
    }

    @Test(
        "Docutray verify=body: the body decides what is new, the time is not reported as verified, a warning is logged"
    )
    func docutrayBodyMode() async throws {
        let relay = try await TestRelay.start(environment: ["RELAY_DOCUTRAY_VERIFY": "body"])
        defer { Task { try? await relay.stop() } }
        let warning = relay.logs.entries.first {
            $0.message == "Weakened verification" && $0.metadata["reason"]?.contains("verify=body") == true
        }
        #expect(warning?.level == .warning)
        #expect(warning?.metadata["reason"]?.hasPrefix("sources.docutray: verify=body") == true)
        let body = Array(#"{"conversion_id":"conv_body_1","status":"done"}"#.utf8)
        let factory = DeliveryFactory()
        let original = factory.headers(body: body, event: "CONVERSION_COMPLETED", deliveryID: "req_body_1")
        #expect(try await relay.post(source: "docutray", headers: original, body: body).status == 202)
        // The request id and event type are unsigned under `body`: a new id is the same delivery.
        let forged = Self.replacing(
            Self.replacing(original, "x-docutray-request-id", with: "req_forged_1"),
            "x-docutray-event",
            with: "CONVERSION_FAILED"
        )
        let replayed = try await relay.post(source: "docutray", headers: forged, body: body)
        #expect(replayed.status == 200, "\(replayed.bodyText)")
        let message = try #require(
            try await relay.consumer().waitForMessages(topic: "docutray.conversion.completed", count: 1).first
        )
        #expect(message.header("ce_relaychecks") == "body-signature")
        let window = try #require(relay.application.configuration.source(named: "docutray")).dedupWindow
        #expect(window == RelayConfiguration.Source.untimestampedDedupWindow)
        try await relay.stop()
    }

    @Test("Docutray both: a body spliced onto a fresh delivery's auth headers does not get the real delivery dropped")
    func docutraySpliceKeepsTheRealDelivery() async throws {
        let relay = try await TestRelay.start()
        defer { Task { try? await relay.stop() } }
        let factory = DeliveryFactory()
        let old = Array(#"{"conversion_id":"conv_old","status":"SUCCESS"}"#.utf8)
        let oldHeaders = factory.headers(body: old, event: "CONVERSION_COMPLETED", deliveryID: "req_splice_old")
        #expect(try await relay.post(source: "docutray", headers: oldHeaders, body: old).status == 202)
        // The real next delivery, and its auth headers carrying the old body and its body signature.
        let real = Array(#"{"conversion_id":"conv_new","status":"FAILED"}"#.utf8)
        let realHeaders = factory.headers(body: real, event: "CONVERSION_FAILED", deliveryID: "req_splice_new")
        let oldSignature = try #require(oldHeaders.first { $0.0 == "x-docutray-signature" })
        let spliced = realHeaders.map { $0.0 == "x-docutray-signature" ? oldSignature : $0 }
        #expect(try await relay.post(source: "docutray", headers: spliced, body: old).status == 202, "it wins the race")

        for attempt in 1...2 {
            let refused = try await relay.post(source: "docutray", headers: realHeaders, body: real)
            #expect(refused.status == 409, "attempt \(attempt): \(refused.bodyText)")
            #expect(refused.bodyText.contains("kept in docutray.deadletter"), "\(refused.bodyText)")
        }
        let kept = try await relay.consumer().waitForMessages(topic: "docutray.deadletter", count: 1)
        #expect(kept.count == 1, "kept once, whatever the sender's retries")
        let letter = try #require(kept.first)
        #expect(letter.value == real)
        #expect(letter.header("ce_id") == "req_splice_new")
        #expect(letter.header("relay_deadletter_reason") == "conflict")
        #expect(letter.header("relay_original_topic") == "docutray.conversion.failed")
        #expect(Self.metrics(relay).contains(#"relay_dead_letters_total{outcome="conflict"} 1"#))
        try await relay.stop()
    }
}
