import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import SenderKit
import Senders
import Testing

/// Deliveries that carry several events (HubSpot's): one record per event, each with its own id,
/// type, key and value; acknowledged only when every record is durable; retried whole, published
/// once.
@Suite("Batches of events, end to end", .serialized, .timeLimit(.minutes(3)))
struct BatchEndToEndTests {
    static let now: Int64 = 1_767_225_600
    static let secret = "3f5b2f4e-8a6c-4a51-b4c2-6d0c9a1e7f21"
    static let url = "https://hooks.example.com/webhooks/hubspot"
    static let environment = [
        "RELAY_HUBSPOT_SECRETS": secret,
        "RELAY_HUBSPOT_PUBLIC_URL": url,
        "RELAY_KAFKA_PUBLISH_TIMEOUT": "500ms",
        "RELAY_RETRY_INITIAL_BACKOFF": "100ms",
        "RELAY_RETRY_MAX_BACKOFF": "500ms",
        "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MS": "50",
        "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MAX_MS": "300",
    ]

    /// One HubSpot event, as HubSpot writes it.
    static func event(_ id: Int, type: String = "contact.creation", object: Int = 123) -> String {
        #"{"eventId":\#(id),"subscriptionId":2001,"portalId":62515,"appId":1160452,"occurredAt":1767225600000,"subscriptionType":"\#(type)","attemptNumber":0,"objectId":\#(object),"changeSource":"CRM"}"#
    }

    /// A batch body: the events as a JSON array.
    static func batch(_ events: String...) -> [UInt8] { Array("[\(events.joined(separator: ","))]".utf8) }

    /// HubSpot's v3 headers for `body` sent to `url` at `timestamp` (seconds).
    static func headers(_ body: [UInt8], url: String = url, timestamp: Int64 = now) -> [(String, String)] {
        let millis = String(timestamp * 1000)
        let message = Array("POST\(url)".utf8) + body + Array(millis.utf8)
        return [
            ("content-type", "application/json"),
            ("x-hubspot-signature-version", "v3"),
            ("x-hubspot-request-timestamp", millis),
            ("x-hubspot-signature-v3", Base64.encode(HMACKey(secret: secret).code(for: message))),
        ]
    }

    static func post(
        _ relay: TestRelay,
        _ body: [UInt8],
        headers: [(String, String)]? = nil,
        query: String? = nil
    )
        async throws -> TestResponse
    {
        try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/hubspot" + (query.map { "?" + $0 } ?? ""),
            headers: headers ?? Self.headers(body),
            body: body
        )
    }

    @Test("Each event of a batch is a record of its own: its item's JSON, byte for byte, with its id, type and key")
    func oneRecordPerEvent() async throws {
        try await withTestRelay(environment: Self.environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
            let first = Self.event(1001, object: 123)
            let second = Self.event(1002, type: "deal.propertyChange", object: 456)
            let body = Array(" [ \(first) ,\n \(second) ] ".utf8)
            let response = try await Self.post(relay, body)
            #expect(response.status == 202, "\(response.bodyText)")
            #expect(response.bodyText.contains(#""status":"published","events":[{"id":"62515-2001-1001","#))
            #expect(
                response.bodyText.contains(
                    #"{"id":"62515-2001-1002","status":"published","topic":"hubspot.deal.propertyChange""#
                )
            )
            let consumer = try relay.consumer()
            for (item, topic, id, key, type) in [
                (first, "hubspot.contact.creation", "62515-2001-1001", "123", "com.hubspot.contact.creation"),
                (second, "hubspot.deal.propertyChange", "62515-2001-1002", "456", "com.hubspot.deal.propertyChange"),
            ] {
                let message = try #require(try await consumer.waitForMessages(topic: topic, count: 1).first)
                #expect(message.value == Array(item.utf8), "the item as sent, whitespace around it excluded")
                #expect(message.header("ce_id") == id)
                #expect(message.header("ce_type") == type)
                #expect(message.keyString == key)
                #expect(message.header("content-type") == "application/json")
                #expect(message.header("ce_time") == "2026-01-01T00:00:00Z")
                #expect(message.header("x-hubspot-signature-v3") != nil, "the signature is forwarded")
            }
        }
    }

    @Test(
        "A batch retried after a lost reply publishes nothing twice; a later batch overlapping it publishes only what is new"
    )
    func retriesPublishOnce() async throws {
        try await withTestRelay(environment: Self.environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
            let body = Self.batch(Self.event(1), Self.event(2))
            #expect(try await Self.post(relay, body).status == 202)
            let retry = try await Self.post(relay, body)
            #expect(retry.status == 200, "\(retry.bodyText)")
            #expect(retry.bodyText.hasPrefix(#"{"id":"62515-2001-1","status":"duplicate""#))
            let overlapping = try await Self.post(relay, Self.batch(Self.event(2), Self.event(3)))
            #expect(overlapping.status == 202)
            #expect(overlapping.bodyText.contains(#"{"id":"62515-2001-2","status":"duplicate"}"#))
            #expect(overlapping.bodyText.contains(#"{"id":"62515-2001-3","status":"published""#))
            let ids = try await relay.consumer().waitForMessages(topic: "hubspot.contact.creation", count: 3)
                .compactMap { $0.header("ce_id") }
            #expect(ids.sorted() == ["62515-2001-1", "62515-2001-2", "62515-2001-3"])
            let all = try await relay.consumer().readAll(topic: "hubspot.contact.creation", timeout: .seconds(2))
            #expect(all.count == 3, "no event was published twice")
        }
    }

    @Test("Kafka down: the batch is buffered whole (202), then every event is published once")
    func bufferedBatch() async throws {
        try await withTestRelay(environment: Self.environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
            #expect(try await Self.post(relay, Self.batch(Self.event(90))).status == 202)
            try relay.cluster.setBrokerDown()
            let body = Self.batch(Self.event(91), Self.event(92, object: 7), Self.event(93))
            let response = try await Self.post(relay, body)
            #expect(response.status == 202, "\(response.bodyText)")
            #expect(response.bodyText.hasPrefix(#"{"id":"62515-2001-91","status":"buffered""#))
            #expect(relay.application.buffer.statistics.pendingCount == 3)
            let retry = try await Self.post(relay, body)
            #expect(retry.status == 200 && retry.bodyText.contains(#""status":"duplicate""#))
            try relay.cluster.setBrokerUp()
            let messages = try await relay.consumer().waitForMessages(
                topic: "hubspot.contact.creation",
                count: 4,
                timeout: .seconds(60)
            )
            #expect(messages.compactMap { $0.header("ce_id") }.sorted() == (90...93).map { "62515-2001-\($0)" })
        }
    }

    @Test("Tampered, stale, unsigned, re-addressed and empty batches are refused and publish nothing")
    func refusals() async throws {
        try await withTestRelay(environment: Self.environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
            let body = Self.batch(Self.event(500))
            var tampered = body
            tampered[tampered.count - 5] = UInt8(ascii: "X")
            let cases: [(String, [UInt8], [(String, String)], String?, Int, String)] = [
                ("tampered", tampered, Self.headers(body), nil, 401, "invalid_signature"),
                ("stale", body, Self.headers(body, timestamp: Self.now - 301), nil, 401, "stale_timestamp"),
                (
                    "unsigned", body,
                    [("content-type", "application/json"), ("x-hubspot-request-timestamp", "1767225600000")], nil, 401,
                    "missing_signature"
                ),
                (
                    "signed for another URL", body,
                    Self.headers(body, url: "http://hooks.example.com/webhooks/hubspot"), nil, 401, "invalid_signature"
                ),
                ("query added", body, Self.headers(body), "portal=1", 401, "invalid_signature"),
                (
                    "one object, not a list", Array(Self.event(501).utf8), Self.headers(Array(Self.event(501).utf8)),
                    nil, 400, "invalid_json"
                ),
                ("an empty list", Self.batch(), Self.headers(Self.batch()), nil, 400, "invalid_body"),
                (
                    "form encoded", body,
                    [("content-type", "application/x-www-form-urlencoded")] + Self.headers(body).dropFirst(), nil, 415,
                    "unsupported_media_type"
                ),
            ]
            for (what, sent, headers, query, status, error) in cases {
                let response = try await Self.post(relay, sent, headers: headers, query: query)
                #expect(response.status == status, "\(what): \(response.bodyText)")
                #expect(response.bodyText.contains(#""error":"\#(error)""#), "\(what): \(response.bodyText)")
            }
            // A query HubSpot called with is part of what it signed.
            let withQuery = try await Self.post(
                relay,
                body,
                headers: Self.headers(body, url: Self.url + "?portal=1"),
                query: "portal=1"
            )
            #expect(withQuery.status == 202, "\(withQuery.bodyText)")
            let published = try await relay.consumer().readAll(topic: "hubspot.contact.creation", timeout: .seconds(2))
            #expect(published.compactMap { $0.header("ce_id") } == ["62515-2001-500"])
        }
    }

    // MARK: Adyen

    static let adyenKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

    /// One Adyen notification item with a placeholder signature, as a string.
    static func adyenItem(_ psp: String, code: String = "AUTHORISATION", reference: String = "order-1001") -> String {
        #"{"NotificationRequestItem":{"additionalData":{"hmacSignature":"unsigned"},"amount":{"currency":"EUR","value":1000},"eventCode":"\#(code)","merchantAccountCode":"AcmeECOM","merchantReference":"\#(reference)","originalReference":"","pspReference":"\#(psp)","reason":"","success":"true"}}"#
    }

    /// An Adyen delivery of `items`, each signed with `key`, as Adyen signs it.
    static func adyenBody(_ items: String..., key: String = adyenKey) -> [UInt8] {
        let body = #"{"live":"false","notificationItems":[\#(items.joined(separator: ","))]}"#
        return AdyenScheme(keys: [Hex.decode(key)!]).stamped(OutgoingDelivery(body: Array(body.utf8), timestamp: now))
    }

    static func postAdyen(_ relay: TestRelay, _ body: [UInt8]) async throws -> TestResponse {
        try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/adyen",
            headers: [("content-type", "application/json")],
            body: body
        )
    }

    @Test(
        "Adyen: every item verified on its own and published as a record; the answer is [accepted]; a retry publishes nothing twice"
    )
    func adyen() async throws {
        let environment = Self.environment.merging(["RELAY_ADYEN_SECRETS": Self.adyenKey]) { $1 }
        try await withTestRelay(environment: environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
            let body = Self.adyenBody(
                Self.adyenItem("QFQTPCQ8HXSKGK82"),
                Self.adyenItem("V4HZ4RBFJGXXGN82", code: "CAPTURE", reference: "Café-1001")
            )
            let response = try await Self.postAdyen(relay, body)
            #expect(response.status == 200 && response.bodyText == "[accepted]", "\(response.bodyText)")
            #expect(response.header("content-type") == "text/plain; charset=utf-8")
            #expect(try await Self.postAdyen(relay, body).bodyText == "[accepted]", "a retry is accepted again")
            // One item tampered: the whole delivery is refused, none of its items published.
            let tampered = Array(
                String(
                    decoding: Self.adyenBody(Self.adyenItem("ABCDEFGH12345678"), Self.adyenItem("ZZZZ9999")),
                    as: UTF8.self
                )
                .replacingOccurrences(of: "ZZZZ9999", with: "ZZZZ9998").utf8
            )
            let refused = try await Self.postAdyen(relay, tampered)
            #expect(refused.status == 401 && refused.bodyText.contains("invalid_signature"), "\(refused.bodyText)")
            let forged = try await Self.postAdyen(
                relay,
                Self.adyenBody(Self.adyenItem("FORGED0000000001"), key: String(repeating: "AB", count: 32))
            )
            #expect(forged.status == 401)

            let consumer = try relay.consumer()
            // Every record was produced before the retry was answered: reading to the end finds them all.
            let authorised = try await consumer.waitForMessages(
                topic: "adyen.authorisation",
                count: 1
            )
            #expect(authorised.compactMap { $0.header("ce_id") } == ["QFQTPCQ8HXSKGK82:AUTHORISATION:true"], "once")
            let items = try JSONScanner.scan(body, capturing: [], shape: .object, elementsAt: "/notificationItems")
                .elements.map { Array(body[$0]) }
            #expect(authorised.first?.value == items[0], "the item's JSON, byte for byte")
            #expect(authorised.first?.keyString == "order-1001")
            #expect(authorised.first?.header("ce_type") == "com.adyen.authorisation")
            let captured = try await consumer.waitForMessages(topic: "adyen.capture", count: 1)
            #expect(captured.first?.value == items[1] && captured.first?.keyString == "Café-1001")
        }
    }
}
