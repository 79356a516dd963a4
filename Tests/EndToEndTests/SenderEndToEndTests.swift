import Crypto
import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Every sender through the wire: deliveries signed as the sender signs them are posted to a real
/// relay on a loopback port, and a real consumer reads back topic, key, `ce_*` headers and value.
@Suite("Every sender, end to end", .serialized, .timeLimit(.minutes(3)))
struct SenderEndToEndTests {
    static let now: Int64 = 1_767_225_600

    /// One source per sender (two for GitHub), each with its own secret.
    static let environment: [String: String] = [
        "RELAY_STANDARD_WEBHOOKS_SECRETS": "whsec_" + Base64.encode([UInt8](repeating: 0x5A, count: 32)),
        "RELAY_GITHUB_SECRETS": "gh-secret-org-one",
        "RELAY_GITHUB_ORG_TWO_SCHEME": "github",
        "RELAY_GITHUB_ORG_TWO_SECRETS": "gh-secret-org-two",
        "RELAY_STRIPE_SECRETS": "whsec_" + String(repeating: "ab", count: 32),
        "RELAY_SHOPIFY_SECRETS": "shpss_e2e_client_secret",
        "RELAY_SLACK_SECRETS": "8f742231b10e8888abcd99yyyzzz85a5",
        "RELAY_GENERIC_HMAC_SECRETS": "generic-e2e-secret",
        "RELAY_GENERIC_HMAC_PREFIX": "sha256=",
        "RELAY_GENERIC_HMAC_TIMESTAMP_HEADER": "X-Timestamp",
        "RELAY_HUBSPOT_SECRETS": "3f5b2f4e-8a6c-4a51-b4c2-6d0c9a1e7f21",
        "RELAY_HUBSPOT_PUBLIC_URL": "https://hooks.example.com/webhooks/hubspot",
        "RELAY_ZOOM_SECRETS": "Gq4xvR1_fKs0b2WUZc9s3A",
        "RELAY_SQUARE_SECRETS": "Gb9xP2ZtW4kq8RmV1sYc0A",
        "RELAY_SQUARE_PUBLIC_URL": "https://hooks.example.com/webhooks/square",
        "RELAY_PADDLE_SECRETS": "pdl_ntfset_01hv8wptq8987qeep44cyrewp9_6kYQbH1Ms0X9cE2vTgN4aWp7RzJ3dLfB",
        "RELAY_TWITCH_SECRETS": "s3cre7-e2e-twitch-0123456789",
        "RELAY_LINEAR_SECRETS": "lin_wh_Xq3v9ZpB1kR7mT2yW8cN5hJ4gF6dS0aLeUoIrE",
        "RELAY_TWILIO_SECRETS": "12345678901234567890123456789012",
        "RELAY_TWILIO_PUBLIC_URL": "https://hooks.example.com/webhooks/twilio",
        "RELAY_MAILGUN_SECRETS": "8f2b6c1d9e4a7f3b5c0d2e6a9b1c4d7e",
        "RELAY_GITLAB_SECRETS": "glwt-Zk3pQ9vR2mX7sL1yT8cB4nH6jF0dW5aE2uG9iK3oP7q",
    ]

    /// A delivery and where it must land.
    struct Case: Sendable, CustomTestStringConvertible {
        var source: String
        var eventType: String?
        var deliveryID: String?
        var body: String
        var topic: String
        var key: String
        var cloudEventType: String
        var cloudEventSource: String
        var expectedID: String
        var signatureHeader: String
        /// A header that names the delivery, to leave out; `nil` when the id is in the body.
        var idHeader: String?
        /// Whether the id is derived from the whole body (Zoom's), so no request lacks one.
        var derivedID = false
        /// How old a signed time must be to be refused: just past the sender's tolerance.
        var staleAge: Int64 = 301
        /// For senders that sign a time inside the body (Linear's): the body signed that long ago.
        var staleBody: String?
        /// Whether a changed body fails verification (GitLab's token does not cover the body).
        var bodySigned = true

        var testDescription: String { source }
    }

    static let cases: [Case] = [
        Case(
            source: "standard-webhooks",
            deliveryID: "msg_e2e_0001",
            body:
                #"{"type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{"id":"in_e2e_1","amount_due":4200}}"#,
            topic: "standard-webhooks.invoice.paid",
            key: "in_e2e_1",
            cloudEventType: "invoice.paid",
            cloudEventSource: "urn:standard-webhooks",
            expectedID: "msg_e2e_0001",
            signatureHeader: "webhook-signature",
            idHeader: "webhook-id"
        ),
        Case(
            source: "github",
            eventType: "pull_request",
            deliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            body: #"{"action":"opened","number":7,"pull_request":{"id":1},"repository":{"full_name":"octo/demo"}}"#,
            topic: "github.pull_request.opened",
            key: "octo/demo",
            cloudEventType: "com.github.pull_request.opened",
            cloudEventSource: "https://github.com",
            expectedID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            signatureHeader: "x-hub-signature-256",
            idHeader: "x-github-delivery"
        ),
        Case(
            source: "stripe",
            body:
                #"{"id":"evt_e2e_0001","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_e2e_1","amount":2000}}}"#,
            topic: "stripe.payment_intent.succeeded",
            key: "pi_e2e_1",
            cloudEventType: "com.stripe.payment_intent.succeeded",
            cloudEventSource: "https://stripe.com",
            expectedID: "evt_e2e_0001",
            signatureHeader: "stripe-signature"
        ),
        Case(
            source: "shopify",
            eventType: "orders/create",
            deliveryID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            body: #"{"id":820982911946154508,"email":"jon@example.com","total_price":"199.65"}"#,
            topic: "shopify.orders.create",
            key: "820982911946154508",
            cloudEventType: "com.shopify.orders.create",
            cloudEventSource: "https://shopify.com",
            expectedID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            signatureHeader: "x-shopify-hmac-sha256",
            idHeader: "x-shopify-webhook-id"
        ),
        Case(
            source: "slack",
            body:
                #"{"type":"event_callback","team_id":"T1","event_id":"Ev0E2E0001","event":{"type":"app_mention","channel":"C0E2E","text":"¿Dónde? ☕"}}"#,
            topic: "slack.app_mention",
            key: "C0E2E",
            cloudEventType: "com.slack.app_mention",
            cloudEventSource: "https://slack.com",
            expectedID: "Ev0E2E0001",
            signatureHeader: "x-slack-signature"
        ),
        Case(
            source: "generic-hmac",
            body: #"{"type":"order.shipped","id":"dlv_e2e_0001","carrier":"DHL"}"#,
            topic: "generic-hmac.order.shipped",
            key: "dlv_e2e_0001",
            cloudEventType: "order.shipped",
            cloudEventSource: "urn:generic-hmac",
            expectedID: "dlv_e2e_0001",
            signatureHeader: "x-signature"
        ),
        Case(
            source: "zoom",
            body:
                #"{"event":"meeting.started","event_ts":1767225600000,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","object":{"id":"85743902736","topic":"Réunion"}}}"#,
            topic: "zoom.meeting.started",
            key: "85743902736",
            cloudEventType: "us.zoom.meeting.started",
            cloudEventSource: "https://zoom.us",
            expectedID: "zm-"
                + Hex.encode(
                    SHA256.hash(
                        data: Array(
                            #"{"event":"meeting.started","event_ts":1767225600000,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","object":{"id":"85743902736","topic":"Réunion"}}}"#
                                .utf8
                        )
                    ).prefix(12)
                ),
            signatureHeader: "x-zm-signature",
            derivedID: true
        ),
        Case(
            source: "square",
            body:
                #"{"merchant_id":"6SSW7HV8K2ST5","type":"payment.created","event_id":"sq-e2e-0001","created_at":"2026-01-01T00:00:00.000Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8","object":{"payment":{"note":"Café"}}}}"#,
            topic: "square.payment.created",
            key: "KkAkhdMsgzn59SM8",
            cloudEventType: "com.squareup.payment.created",
            cloudEventSource: "https://squareup.com",
            expectedID: "sq-e2e-0001",
            signatureHeader: "x-square-hmacsha256-signature"
        ),
        Case(
            source: "paddle",
            body:
                #"{"event_id":"evt_e2e_0001","event_type":"transaction.completed","occurred_at":"2026-01-01T00:00:00.000000Z","data":{"id":"txn_e2e_1","status":"completed","note":"Grüße"}}"#,
            topic: "paddle.transaction.completed",
            key: "txn_e2e_1",
            cloudEventType: "com.paddle.transaction.completed",
            cloudEventSource: "https://paddle.com",
            expectedID: "evt_e2e_0001",
            signatureHeader: "paddle-signature"
        ),
        Case(
            source: "gitlab",
            eventType: "Merge Request Hook",
            deliveryID: "6b5c3a92-0d1e-4f7a-8b2c-9e4d1f0a7c35",
            body:
                #"{"object_kind":"merge_request","project":{"id":15,"path_with_namespace":"acme/relay"},"object_attributes":{"iid":1,"title":"Zoë's fix","action":"open"}}"#,
            topic: "gitlab.merge_request.open",
            key: "15",
            cloudEventType: "com.gitlab.merge_request.open",
            cloudEventSource: "https://gitlab.com",
            expectedID: "6b5c3a92-0d1e-4f7a-8b2c-9e4d1f0a7c35",
            signatureHeader: "x-gitlab-token",
            idHeader: "x-gitlab-event-uuid",
            bodySigned: false
        ),
        Case(
            source: "twitch",
            deliveryID: "e76c6bd4-55c9-4987-8304-da1588d8988b",
            body:
                #"{"subscription":{"id":"f1c2a387","status":"enabled","type":"channel.follow","version":"2"},"event":{"user_name":"Ärger_User","broadcaster_user_id":"12826"}}"#,
            topic: "twitch.channel.follow",
            key: "12826",
            cloudEventType: "tv.twitch.channel.follow",
            cloudEventSource: "https://www.twitch.tv",
            expectedID: "e76c6bd4-55c9-4987-8304-da1588d8988b",
            signatureHeader: "twitch-eventsub-message-signature",
            idHeader: "twitch-eventsub-message-id",
            staleAge: 601
        ),
        Case(
            source: "linear",
            deliveryID: "234d1a4e-b617-4388-90fe-adc3633d6b72",
            body: linearBody(at: now),
            topic: "linear.Issue.create",
            key: "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9",
            cloudEventType: "app.linear.Issue.create",
            cloudEventSource: "https://linear.app",
            expectedID: "234d1a4e-b617-4388-90fe-adc3633d6b72",
            signatureHeader: "linear-signature",
            idHeader: "linear-delivery",
            staleBody: linearBody(at: now - 61)
        ),
    ]

    /// A Linear event whose signed `webhookTimestamp` is `seconds` (in milliseconds).
    static func linearBody(at seconds: Int64) -> String {
        #"{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Relay ✓"},"webhookTimestamp":"#
            + "\(seconds * 1000)}"
    }

    static func start() async throws -> TestRelay {
        try await TestRelay.start(environment: environment, clock: ManualWallClock(unixSeconds: now))
    }

    /// The scheme of `source` as configured, optionally with another secret.
    static func scheme(_ source: String, secret: String? = nil) throws -> any WebhookScheme {
        var environment = Self.environment
        let prefix = "RELAY_" + source.uppercased().replacingOccurrences(of: "-", with: "_")
        if let secret { environment[prefix + "_SECRETS"] = secret }
        let sources = try RelayConfiguration.loadSources(environment: environment, senders: TestSenders.registry)
        return try #require(sources.first { $0.name == source }).scheme
    }

    static func headers(
        _ testCase: Case,
        body: String? = nil,
        secret: String? = nil,
        timestamp: Int64 = now
    ) throws -> [(String, String)] {
        let delivery = OutgoingDelivery(
            body: Array((body ?? testCase.body).utf8),
            eventType: testCase.eventType,
            deliveryID: testCase.deliveryID,
            timestamp: timestamp
        )
        return try scheme(testCase.source, secret: secret).signedHeaders(delivery).map { ($0.name, $0.value) }
    }

    @Test("Each sender's delivery lands on its topic with its key, its ce_ headers and its exact body")
    func deliveriesReachKafka() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        for testCase in Self.cases {
            let headers = try Self.headers(testCase)
            let response = try await relay.post(
                source: testCase.source,
                headers: headers,
                body: Array(testCase.body.utf8)
            )
            #expect(response.status == 202, "\(testCase.source): \(response.bodyText)")
            #expect(response.bodyText.contains(#""status":"published""#), "\(response.bodyText)")
            #expect(response.bodyText.contains(#""topic":"\#(testCase.topic)""#), "\(response.bodyText)")
        }
        let consumer = try relay.consumer()
        for testCase in Self.cases {
            let message = try #require(
                try await consumer.waitForMessages(topic: testCase.topic, count: 1).first,
                "\(testCase.topic)"
            )
            #expect(message.value == Array(testCase.body.utf8), "value must be byte-exact")
            #expect(message.keyString == testCase.key)
            #expect(message.header("ce_specversion") == "1.0")
            #expect(message.header("ce_id") == testCase.expectedID)
            #expect(message.header("ce_type") == testCase.cloudEventType)
            #expect(message.header("ce_source") == testCase.cloudEventSource)
            // The subject is the key field's value; a source without one keys by delivery id, subjectless.
            #expect(message.header("ce_subject") == (testCase.source == "generic-hmac" ? nil : testCase.key))
            #expect(message.header("ce_partitionkey") == testCase.key)
            // Signed time where the sender signs one, else the receive time: the same instant here.
            #expect(message.header("ce_time") == "2026-01-01T00:00:00Z")
            #expect(message.header("ce_relaysource") == testCase.source)
            #expect(message.header("content-type") == "application/json")
            if testCase.bodySigned {
                #expect(message.header(testCase.signatureHeader) != nil, "the signature is forwarded to verify again")
            } else {
                #expect(message.header(testCase.signatureHeader) == nil, "a token is a secret, never forwarded")
            }
        }
        try await relay.stop()
    }

    @Test("Every rejection class of every sender gets its status and a JSON error", arguments: cases)
    func rejections(_ testCase: Case) async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(testCase.body.utf8)
        func post(_ headers: [(String, String)], _ body: [UInt8] = body) async throws -> TestResponse {
            try await relay.post(source: testCase.source, headers: headers, body: body)
        }
        func expect(_ response: TestResponse, _ status: Int, _ error: String, _ what: String) {
            #expect(response.status == status, "\(what): \(response.bodyText)")
            #expect(response.bodyText.contains(#""error":"\#(error)""#), "\(what): \(response.bodyText)")
            #expect(response.bodyText.contains(#""message":"#), "\(what)")
        }
        let good = try Self.headers(testCase)

        let wrongSecret = try Self.headers(testCase, secret: Self.otherSecret(for: testCase.source))
        expect(try await post(wrongSecret), 401, "invalid_signature", "wrong secret")
        let unsigned = good.filter { $0.0 != testCase.signatureHeader }
        expect(try await post(unsigned), 401, "missing_signature", "no signature")
        if testCase.bodySigned {
            var tampered = body
            tampered[tampered.count - 2] ^= 0x01
            #expect(try await post(good, tampered).status >= 400, "tampered body")
        }
        let scheme = try Self.scheme(testCase.source)
        if scheme.signsTimestamps {
            let staleBody = testCase.staleBody ?? testCase.body
            let stale = try Self.headers(testCase, body: staleBody, timestamp: Self.now - testCase.staleAge)
            expect(try await post(stale, Array(staleBody.utf8)), 401, "stale_timestamp", "stale")
        }
        if let idHeader = testCase.idHeader {
            expect(try await post(good.filter { $0.0 != idHeader }), 400, "missing_header", "no delivery id")
        } else if !testCase.derivedID {
            let withoutID = testCase.body.replacingOccurrences(of: testCase.expectedID, with: "")
            let headers = try Self.headers(testCase, body: withoutID)
            expect(try await post(headers, Array(withoutID.utf8)), 400, "invalid_field", "no delivery id")
        }
        let form = good.map { $0.0 == "content-type" ? ($0.0, "application/x-www-form-urlencoded") : $0 }
        let unsupported = try await post(form)
        expect(unsupported, 415, "unsupported_media_type", "form-encoded")
        if testCase.source == "github" {
            #expect(unsupported.bodyText.contains("set Content type to application/json"))
        }

        #expect(try await post(good).status == 202)
        let retry = try await post(good)
        #expect(retry.status == 200, "a retry is answered as accepted")
        #expect(retry.bodyText.contains(#""status":"duplicate""#))
        if testCase.idHeader != nil {
            let other = testCase.body.replacingOccurrences(of: "}", with: #","extra":1}"#)
            let conflicting = try Self.headers(testCase, body: other)
            let response = try await post(conflicting, Array(other.utf8))
            if scheme.signedParts.contains(.deliveryID) {
                expect(response, 409, "request_id_conflict", "same id, other body")
            } else {
                // The id is not signed, so it does not name the delivery: another body is another event.
                #expect(response.status == 202, "same unsigned id, other body: \(response.bodyText)")
            }
        }
        let expected = testCase.idHeader != nil && !scheme.signedParts.contains(.deliveryID) ? 2 : 1
        let published = try await relay.consumer().waitForMessages(topic: testCase.topic, count: expected)
        #expect(published.filter { $0.header("ce_id") == testCase.expectedID }.count == expected)
        let rejected = relay.logs.entries.filter { $0.message == "Rejected webhook" }
        #expect(rejected.count >= 5)
        if testCase.idHeader != nil {
            #expect(
                rejected.contains { $0.metadata["request_id"] == testCase.expectedID },
                "rejections name the delivery"
            )
        }
        try await relay.stop()
    }

    static func otherSecret(for source: String) -> String {
        switch source {
        case "standard-webhooks": "whsec_" + Base64.encode([UInt8](repeating: 0x33, count: 32))
        case "stripe": "whsec_" + String(repeating: "cd", count: 32)
        default: "another-secret-entirely"
        }
    }

    @Test("Two GitHub organisations with different secrets: each source takes only its own deliveries")
    func twoSourcesOfOneSender() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(#"{"ref":"refs/heads/main","repository":{"full_name":"org-two/app"}}"#.utf8)
        let delivery = OutgoingDelivery(body: body, eventType: "push", deliveryID: "d-org-two-1", timestamp: Self.now)
        let signedByTwo = try Self.scheme("github-org-two").signedHeaders(delivery).map { ($0.name, $0.value) }
        #expect(try await relay.post(source: "github", headers: signedByTwo, body: body).status == 401)
        let accepted = try await relay.post(source: "github-org-two", headers: signedByTwo, body: body)
        #expect(accepted.status == 202, "\(accepted.bodyText)")
        let message = try #require(
            try await relay.consumer().waitForMessages(topic: "github-org-two.push", count: 1).first
        )
        #expect(message.keyString == "org-two/app")
        #expect(message.header("ce_relaysource") == "github-org-two")
        #expect(message.header("ce_id") == "d-org-two-1")
        try await relay.stop()
    }

    @Test("GitHub's ping, sent when a hook is created, is published like any event")
    func gitHubPing() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body = Array(#"{"zen":"Design for failure.","hook_id":42,"hook":{"type":"Repository"}}"#.utf8)
        let delivery = OutgoingDelivery(body: body, eventType: "ping", deliveryID: "ping-1", timestamp: Self.now)
        let headers = try Self.scheme("github").signedHeaders(delivery).map { ($0.name, $0.value) }
        let response = try await relay.post(source: "github", headers: headers, body: body)
        #expect(response.status == 202, "\(response.bodyText)")
        let message = try #require(try await relay.consumer().waitForMessages(topic: "github.ping", count: 1).first)
        #expect(message.header("ce_type") == "com.github.ping")
        #expect(message.keyString == "ping-1", "no repository: keyed by the delivery id")
        #expect(message.value == body)
        try await relay.stop()
    }

    @Test("A source's own key field and topic override replace the sender's")
    func keyAndTopicOverrides() async throws {
        let payments = [
            "RELAY_PAYMENTS_SCHEME": "stripe", "RELAY_PAYMENTS_SECRETS": "whsec_payments_e2e",
            "RELAY_PAYMENTS_KEY": "/data/object/customer", "RELAY_PAYMENTS_TOPICS": "invoice.paid=billing.invoices",
        ]
        let relay = try await TestRelay.start(
            environment: Self.environment.merging(payments) { $1 },
            clock: ManualWallClock(unixSeconds: Self.now)
        )
        defer { Task { try? await relay.stop() } }
        let body = Array(
            #"{"id":"evt_pay_1","type":"invoice.paid","data":{"object":{"id":"in_9","customer":"cus_42"}}}"#.utf8
        )
        let scheme = try #require(relay.application.configuration.source(named: "payments")).scheme
        let headers = try scheme.signedHeaders(OutgoingDelivery(body: body, timestamp: Self.now)).map {
            ($0.name, $0.value)
        }
        let response = try await relay.post(source: "payments", headers: headers, body: body)
        #expect(response.status == 202, "\(response.bodyText)")
        let message = try #require(
            try await relay.consumer().waitForMessages(topic: "billing.invoices", count: 1).first
        )
        #expect(message.keyString == "cus_42")
        #expect(message.header("ce_subject") == "cus_42")
        #expect(message.header("ce_type") == "com.stripe.invoice.paid")
        try await relay.stop()
    }

    @Test("Slack's URL check is answered with its challenge and not published")
    func slackURLVerification() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body =
            #"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#
        let slack = try #require(Self.cases.first { $0.source == "slack" })
        let response = try await relay.post(
            source: "slack",
            headers: try Self.headers(slack, body: body),
            body: Array(body.utf8)
        )
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        #expect(response.bodyText == #"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#)
        let metrics = String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
        #expect(metrics.contains(#"outcome="answered""#))
        #expect(!metrics.contains("relay_publish_total"), "nothing was published")
        // Unsigned, the same check is refused like any delivery.
        let unsigned = try await relay.post(
            source: "slack",
            headers: [("content-type", "application/json")],
            body: Array(body.utf8)
        )
        #expect([400, 401].contains(unsigned.status))
        #expect(!unsigned.bodyText.contains("3eZbrw1aBm2rZgRNFdxV"))
        try await relay.stop()
    }

    @Test("Zoom's endpoint check is answered with the token and its HMAC, and not published")
    func zoomURLValidation() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body =
            #"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1767225600000,"event":"endpoint.url_validation"}"#
        let zoom = try #require(Self.cases.first { $0.source == "zoom" })
        let response = try await relay.post(
            source: "zoom",
            headers: try Self.headers(zoom, body: body),
            body: Array(body.utf8)
        )
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        let secret = try #require(Self.environment["RELAY_ZOOM_SECRETS"])
        let encrypted = Hex.encode(HMACKey(secret: secret).code(for: Array("qgg8vlvZRS6UYooatFL8Aw".utf8)))
        #expect(response.bodyText == #"{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"\#(encrypted)"}"#)
        let metrics = String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
        #expect(metrics.contains(#"source="zoom""#) && metrics.contains(#"outcome="answered""#))
        #expect(!metrics.contains("relay_publish_total"), "nothing was published")
        // Unsigned or signed with another secret, the check is refused: no token is ever answered.
        let forged = try await relay.post(
            source: "zoom",
            headers: try Self.headers(zoom, body: body, secret: "another-secret-token"),
            body: Array(body.utf8)
        )
        #expect(forged.status == 401 && !forged.bodyText.contains("encryptedToken"))
        try await relay.stop()
    }

    @Test(
        "Mailgun: the signature in the body is checked, its single-use token names the delivery, its unsigned event cannot be swapped"
    )
    func mailgun() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let key = try #require(Self.environment["RELAY_MAILGUN_SECRETS"])
        func event(_ name: String, id: String) -> String {
            #"{"event-data":{"event":"\#(name)","id":"\#(id)","recipient":"zoë@example.com","message":{"headers":{"message-id":"m-1@mg.example.com"}}}}"#
        }
        func signed(_ body: String, token: String, key: String = key, at timestamp: Int64 = Self.now) -> [UInt8] {
            MailgunScheme(secrets: [key]).stamped(
                OutgoingDelivery(body: Array(body.utf8), deliveryID: token, timestamp: timestamp)
            )
        }
        func post(_ body: [UInt8]) async throws -> TestResponse {
            try await relay.post(source: "mailgun", headers: [("content-type", "application/json")], body: body)
        }
        let delivered = signed(event("delivered", id: "ev-1"), token: "token-0001")
        let first = try await post(delivered)
        #expect(first.status == 202 && first.bodyText.contains(#""id":"ev-1""#), "\(first.bodyText)")
        let retry = try await post(delivered)
        #expect(retry.status == 200 && retry.bodyText.contains(#""status":"duplicate""#))
        // Someone reading the topic takes the signature object and swaps the event: the token was
        // used, so it is a conflict, kept aside, never published as an event.
        let swapped = Array(
            String(decoding: delivered, as: UTF8.self).replacingOccurrences(of: "delivered", with: "complained").utf8
        )
        let conflict = try await post(swapped)
        #expect(conflict.status == 409, "\(conflict.bodyText)")
        let stale = try await post(signed(event("opened", id: "ev-2"), token: "token-0002", at: Self.now - 301))
        #expect(stale.status == 401 && stale.bodyText.contains("stale_timestamp"))
        let forged = try await post(
            signed(event("opened", id: "ev-3"), token: "token-0003", key: "another-key-0123456789")
        )
        #expect(forged.status == 401 && forged.bodyText.contains("invalid_signature"))
        let unsigned = try await post(Array(event("opened", id: "ev-4").utf8))
        #expect(unsigned.status == 401 && unsigned.bodyText.contains("missing_signature"))
        // The event name is not signed: one outside Mailgun's list goes to the overflow topic.
        let invented = try await post(signed(event("password_reset", id: "ev-5"), token: "token-0005"))
        #expect(invented.status == 202 && invented.bodyText.contains(#""topic":"mailgun.unrecognized""#))
        let opened = try await post(signed(event("opened", id: "ev-6"), token: "token-0006"))
        #expect(opened.status == 202)

        let consumer = try relay.consumer()
        let records = try await consumer.waitForMessages(topic: "mailgun.delivered", count: 1)
        #expect(records.map(\.value) == [delivered], "the body, byte for byte, signature object included")
        #expect(records.first?.header("ce_id") == "ev-1" && records.first?.keyString == "m-1@mg.example.com")
        #expect(records.first?.header("ce_type") == "com.mailgun.delivered")
        let later = try await consumer.waitForMessages(topic: "mailgun.opened", count: 1)
        #expect(later.compactMap { $0.header("ce_id") } == ["ev-6"], "nothing but the fresh, signed opened event")
        let complained = try? await consumer.waitForMessages(
            topic: "mailgun.complained",
            count: 1,
            timeout: .seconds(2)
        )
        #expect(complained?.isEmpty ?? true, "the swapped event was never published")
        try await relay.stop()
    }

    @Test("Twilio: form fields signed with the URL, JSON through bodySHA256; reordered fields are never a second event")
    func twilio() async throws {
        let token = try #require(Self.environment["RELAY_TWILIO_SECRETS"])
        let url = try #require(Self.environment["RELAY_TWILIO_PUBLIC_URL"])
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        func sign(_ message: String, key: String = token) -> String {
            Base64.encode(HMACKey(secret: key, algorithm: .sha1).code(for: Array(message.utf8)))
        }
        func post(_ body: String, type: String, signature: String, query: String? = nil) async throws -> TestResponse {
            try await HTTPTestClient.send(
                port: relay.port,
                path: "/webhooks/twilio" + (query.map { "?" + $0 } ?? ""),
                headers: [("content-type", type), ("x-twilio-signature", signature)],
                body: Array(body.utf8)
            )
        }
        let form = "application/x-www-form-urlencoded"
        let sms = "MessageSid=SM42&SmsStatus=received&From=%2B14155550100&Body=Caf%C3%A9+%E2%98%95"
        let signed = sign(url + "BodyCafé ☕From+14155550100MessageSidSM42SmsStatusreceived")
        let first = try await post(sms, type: form, signature: signed)
        #expect(
            first.status == 202 && first.bodyText.contains(#""topic":"twilio.message.received""#),
            "\(first.bodyText)"
        )
        let retry = try await post(sms, type: form, signature: signed)
        #expect(retry.status == 200 && retry.bodyText.contains(#""status":"duplicate""#), "\(retry.bodyText)")
        // The same fields in another order and encoding carry the same signature: what was signed
        // names the delivery, so these bytes are a conflict (kept aside), never a second event.
        let reordered = "Body=Caf%c3%a9%20%e2%98%95&SmsStatus=received&MessageSid=SM42&From=%2B14155550100"
        let again = try await post(reordered, type: form, signature: signed)
        #expect(again.status == 409, "\(again.bodyText)")
        let forged = try await post(sms, type: form, signature: sign(url + "x", key: token))
        #expect(forged.status == 401)

        let json = #"{"type":"message.delivered","sid":"SM42"}"#
        let hash = Hex.encode(SHA256.hash(data: Array(json.utf8)))
        let query = "bodySHA256=" + hash
        let delivered = try await post(json, type: "application/json", signature: sign(url + "?" + query), query: query)
        #expect(delivered.status == 202 && delivered.bodyText.contains(#""topic":"twilio.message.delivered""#))
        let unhashed = try await post(json, type: "application/json", signature: sign(url))
        #expect(unhashed.status == 401 && unhashed.bodyText.contains("bodySHA256"), "\(unhashed.bodyText)")
        let text = try await post("hello", type: "text/plain", signature: signed)
        #expect(text.status == 415)

        let consumer = try relay.consumer()
        let received = try await consumer.waitForMessages(topic: "twilio.message.received", count: 1)
        #expect(received.map(\.value) == [Array(sms.utf8)], "published once, the body byte for byte")
        #expect(received.first?.keyString == "SM42")
        #expect(received.first?.header("content-type") == form)
        #expect(received.first?.header("ce_type") == "com.twilio.message.received")
        let statuses = try await consumer.waitForMessages(topic: "twilio.message.delivered", count: 1)
        #expect(statuses.map(\.value) == [Array(json.utf8)])
        try await relay.stop()
    }

    @Test("GitLab's token is the secret: it reaches no Kafka record, log line, buffer or archive file, or admin answer")
    func gitLabTokenStaysSecret() async throws {
        let gitlab = try #require(Self.cases.first { $0.source == "gitlab" })
        let token = try #require(Self.environment["RELAY_GITLAB_SECRETS"])
        let bufferPath = TestRelay.temporaryDirectory(prefix: "gitlab-buffer")
        var environment = Self.environment.merging(AdminAPITests.environment) { $1 }
        environment["RELAY_BUFFER_PATH"] = bufferPath
        let relay = try await TestRelay.start(environment: environment, clock: ManualWallClock(unixSeconds: Self.now))
        defer { Task { try? await relay.stop() } }
        let headers = try Self.headers(gitlab)
        #expect(headers.contains { $0 == ("x-gitlab-token", token) }, "GitLab sends the token itself")
        let published = try await relay.post(source: "gitlab", headers: headers, body: Array(gitlab.body.utf8))
        #expect(published.status == 202, "\(published.bodyText)")
        // One buffered while Kafka is down, one refused with a near miss of the token.
        try relay.cluster.setBrokerDown()
        let second = gitlab.body.replacingOccurrences(of: "Zoë's fix", with: "second")
        let secondHeaders = try Self.headers(gitlab, body: second).map {
            $0.0 == "x-gitlab-event-uuid" ? ($0.0, "gitlab-e2e-second") : $0
        }
        let buffered = try await relay.post(source: "gitlab", headers: secondHeaders, body: Array(second.utf8))
        #expect(buffered.status == 202 && buffered.bodyText.contains(#""status":"buffered""#), "\(buffered.bodyText)")
        let nearMiss = headers.map { $0.0 == "x-gitlab-token" ? ($0.0, token + "x") : $0 }
        let refused = try await relay.post(source: "gitlab", headers: nearMiss, body: Array(gitlab.body.utf8))
        #expect(refused.status == 401 && !refused.bodyText.contains(token))
        try relay.cluster.setBrokerUp()
        let records = try await relay.consumer().waitForMessages(
            topic: "gitlab.merge_request.open",
            count: 2,
            timeout: .seconds(60)
        )
        for record in records {
            #expect(!record.headers.contains { $0.name == "x-gitlab-token" })
            #expect(!record.headers.contains { ($0.stringValue ?? "").contains(token) })
            #expect(record.header("x-gitlab-event") == "Merge Request Hook", "GitLab's other headers are forwarded")
        }
        for path in ["/admin/events", "/admin/buffer/records?body=true", "/admin/overview"] {
            let answer = try await AdminAPITests.get(relay, path)
            #expect(answer.status == 200 && !answer.bodyText.contains(token), "\(path)")
        }
        try await relay.stop()
        #expect(!relay.logs.entries.contains { $0.line.contains(token) }, "no log line holds the token")
        let files = FileManager.default.enumerator(atPath: bufferPath)?.compactMap { $0 as? String } ?? []
        #expect(!files.isEmpty, "the buffer wrote its files")
        for file in files {
            let contents = FileManager.default.contents(atPath: bufferPath + "/" + file) ?? Data()
            #expect(contents.range(of: Data(token.utf8)) == nil, "\(file) holds the token")
        }
    }

    @Test(
        "Twitch's callback verification is answered with the bare challenge as text; a header that lies about the kind is refused"
    )
    func twitchChallenge() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let body =
            #"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2"}}"#
        let twitch = try #require(Self.cases.first { $0.source == "twitch" })
        let headers = try Self.headers(twitch, body: body)
        #expect(headers.contains { $0 == ("twitch-eventsub-message-type", "webhook_callback_verification") })
        let response = try await relay.post(source: "twitch", headers: headers, body: Array(body.utf8))
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/plain; charset=utf-8")
        #expect(response.bodyText == "pogchamp-kappa-360noscope-vohiyo")
        // The type header is not signed: a notification's signed body sent as a verification (or
        // the other way round) is refused, never answered or published as the other kind.
        let event = twitch.body
        let relabelled = try Self.headers(twitch, body: event).map {
            $0.0 == "twitch-eventsub-message-type" ? ($0.0, "webhook_callback_verification") : $0
        }
        let lie = try await relay.post(source: "twitch", headers: relabelled, body: Array(event.utf8))
        #expect(lie.status == 400 && lie.bodyText.contains("twitch-eventsub-message-type"), "\(lie.bodyText)")
        let metrics = String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
        #expect(!metrics.contains("relay_publish_total"), "nothing was published")
        try await relay.stop()
    }

    @Test("Slack's retries of one event (X-Slack-Retry-Num) are published once")
    func slackRetries() async throws {
        let relay = try await Self.start()
        defer { Task { try? await relay.stop() } }
        let slack = try #require(Self.cases.first { $0.source == "slack" })
        let body = Array(slack.body.utf8)
        let first = try Self.headers(slack)
        #expect(try await relay.post(source: "slack", headers: first, body: body).status == 202)
        for attempt in 1...2 {
            let retry =
                try Self.headers(slack, timestamp: Self.now + Int64(attempt)) + [
                    ("x-slack-retry-num", String(attempt)), ("x-slack-retry-reason", "http_timeout"),
                ]
            let response = try await relay.post(source: "slack", headers: retry, body: body)
            #expect(response.status == 200)
            #expect(response.bodyText.contains(#""status":"duplicate""#))
        }
        let messages = try await relay.consumer().waitForMessages(topic: "slack.app_mention", count: 1)
        #expect(messages.count == 1)
        try await relay.stop()
    }
}
