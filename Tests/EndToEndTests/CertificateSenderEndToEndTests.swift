import Foundation
import HTTPTypes
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import RelayTools
import SenderKit
import Senders
import Testing

/// Senders whose requests name the certificate that signed them (Amazon SNS): a real relay, a
/// real consumer and a local HTTPS server with its own CA standing in for the sender's certificate
/// host. The server records every request, so the tests prove what the relay fetched and what it
/// never did.
@Suite("Certificate-signed senders, end to end", .serialized, .timeLimit(.minutes(3)))
struct CertificateSenderEndToEndTests {
    static let topicArn = "arn:aws:sns:us-east-1:123456789012:orders"
    static let goodPath = "/SimpleNotificationService-0123456789abcdef.pem"

    /// The relay's clock: now, because the certificates the test makes are valid around now.
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    static func timestamp(_ seconds: Int64) -> String {
        RFC3339.format(unixSeconds: seconds).replacingOccurrences(of: "Z", with: ".123Z")
    }

    static func environment(
        _ server: CertificateServer,
        confirm: Bool = false,
        privateAddresses: Bool = true
    )
        -> [String: String]
    {
        [
            "RELAY_AWS_SNS_TOPIC_ARNS": topicArn,
            "RELAY_AWS_SNS_CERTIFICATE_URLS": server.url("/SimpleNotificationService-"),
            "RELAY_AWS_SNS_CERTIFICATE_CA_FILE": server.caFile,
            "RELAY_AWS_SNS_CERTIFICATE_PRIVATE_ADDRESSES": privateAddresses ? "true" : "false",
            "RELAY_AWS_SNS_CONFIRM_SUBSCRIPTIONS": confirm ? "true" : "false",
        ]
    }

    static func post(_ relay: TestRelay, _ body: [UInt8]) async throws -> TestResponse {
        try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/aws-sns",
            headers: [
                ("content-type", "text/plain; charset=UTF-8"), ("x-amz-sns-message-type", "Notification"),
                ("user-agent", "Amazon Simple Notification Service Agent"),
            ],
            body: body
        )
    }

    static func notification(
        _ server: CertificateServer,
        id: String,
        path: String = goodPath,
        url: String? = nil,
        topicArn: String = topicArn,
        message: String = #"{"order":"ord_1","total":"12.50 €"}"#
    ) -> SNSTestMessage {
        SNSTestMessage(
            topicArn: topicArn,
            messageID: id,
            message: message,
            timestamp: timestamp(now),
            subject: "Order created",
            certificateURL: url ?? server.url(path)
        )
    }

    @Test(
        "Amazon SNS: notifications signed with SHA1withRSA and SHA256withRSA are published once, byte for byte; the certificate is fetched once"
    )
    func notifications() async throws {
        try await withCertificateServer { server in
            let signer = try LocalSigningCertificate(authority: server.authority, commonName: "sns.amazonaws.com")
            server.serve(Self.goodPath, .init(body: signer.pem))
            try await withTestRelay(
                environment: Self.environment(server),
                clock: ManualWallClock(unixSeconds: Self.now)
            ) { relay in
                let first = try Self.notification(server, id: "6c7f1d2a-0001").body(signedBy: signer)
                let published = try await Self.post(relay, first)
                #expect(published.status == 202, "\(published.bodyText)")
                #expect(published.bodyText.contains(#""topic":"aws-sns.orders""#))
                let retry = try await Self.post(relay, first)
                #expect(retry.status == 200 && retry.bodyText.contains("duplicate"), "\(retry.bodyText)")
                let sha1 = try Self.notification(server, id: "6c7f1d2a-0002").body(signedBy: signer, version: 1)
                let second = try await Self.post(relay, sha1)
                #expect(second.status == 202, "\(second.bodyText)")
                #expect(server.received == [Self.goodPath], "one fetch, then the cached key")

                let records = try await relay.consumer().waitForMessages(topic: "aws-sns.orders", count: 2)
                #expect(records.compactMap { $0.header("ce_id") }.sorted() == ["6c7f1d2a-0001", "6c7f1d2a-0002"])
                let record = try #require(records.first { $0.header("ce_id") == "6c7f1d2a-0001" })
                #expect(record.value == first, "the message as posted, byte for byte")
                #expect(record.header("ce_type") == "com.amazonaws.sns.orders")
                #expect(record.header("ce_relaychecks") == "certificate,signature,timestamp")
                #expect(record.header("content-type") == "text/plain; charset=utf-8")
            }
        }
    }

    @Test(
        "Amazon SNS: a URL outside certificate_urls, a redirect, an expired or wrong-subject certificate, a tampered message or another key are refused 401; a failing host 503; nothing published, nothing else fetched"
    )
    func refusals() async throws {
        try await withCertificateServer { server in
            let authority = server.authority
            let signer = try LocalSigningCertificate(authority: authority, commonName: "sns.amazonaws.com")
            let expired = try LocalSigningCertificate(
                authority: authority,
                commonName: "sns.amazonaws.com",
                notBefore: Date() - 7200,
                notAfter: Date() - 60
            )
            let impostor = try LocalSigningCertificate(authority: authority, commonName: "evil.example.com")
            let otherKey = try LocalSigningCertificate(authority: authority, commonName: "sns.amazonaws.com")
            server.serve(Self.goodPath, .init(body: signer.pem))
            server.serve("/SimpleNotificationService-expired.pem", .init(body: expired.pem))
            server.serve("/SimpleNotificationService-subject.pem", .init(body: impostor.pem))
            server.serve(
                "/SimpleNotificationService-moved.pem",
                .init(status: 302, body: "", headers: ["location": server.url("/elsewhere.pem")])
            )
            server.serve("/elsewhere.pem", .init(body: signer.pem))
            server.serve("/SimpleNotificationService-down.pem", .init(status: 503, body: "busy"))
            try await withTestRelay(
                environment: Self.environment(server),
                clock: ManualWallClock(unixSeconds: Self.now)
            ) { relay in
                let tampered = Array(
                    String(decoding: try Self.notification(server, id: "t-1").body(signedBy: signer), as: UTF8.self)
                        .replacingOccurrences(of: "ord_1", with: "ord_2").utf8
                )
                let cases: [(String, [UInt8], Int, String)] = [
                    (
                        "another host",
                        try Self.notification(
                            server,
                            id: "r-1",
                            url: "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem"
                        )
                        .body(signedBy: signer), 401, "untrusted_certificate"
                    ),
                    (
                        "another path on the host",
                        try Self.notification(server, id: "r-2", path: "/elsewhere.pem").body(signedBy: signer), 401,
                        "untrusted_certificate"
                    ),
                    (
                        "a dot segment",
                        try Self.notification(server, id: "r-3", path: "/SimpleNotificationService-/../elsewhere.pem")
                            .body(signedBy: signer), 401, "untrusted_certificate"
                    ),
                    (
                        "a redirect",
                        try Self.notification(server, id: "r-4", path: "/SimpleNotificationService-moved.pem")
                            .body(signedBy: signer), 401, "untrusted_certificate"
                    ),
                    (
                        "an expired certificate",
                        try Self.notification(server, id: "r-5", path: "/SimpleNotificationService-expired.pem")
                            .body(signedBy: expired), 401, "untrusted_certificate"
                    ),
                    (
                        "another subject",
                        try Self.notification(server, id: "r-6", path: "/SimpleNotificationService-subject.pem")
                            .body(signedBy: impostor), 401, "untrusted_certificate"
                    ),
                    ("a tampered message", tampered, 401, "invalid_signature"),
                    (
                        "another key", try Self.notification(server, id: "r-7").body(signedBy: otherKey), 401,
                        "invalid_signature"
                    ),
                    (
                        "a topic not listed",
                        try Self.notification(
                            server,
                            id: "r-8",
                            path: "/SimpleNotificationService-never.pem",
                            topicArn: "arn:aws:sns:us-east-1:999999999999:orders"
                        )
                        .body(signedBy: signer), 400, "invalid_field"
                    ),
                    (
                        "a host answering 503",
                        try Self.notification(server, id: "r-9", path: "/SimpleNotificationService-down.pem")
                            .body(signedBy: signer), 503, "certificate_unavailable"
                    ),
                ]
                for (what, body, status, error) in cases {
                    let response = try await Self.post(relay, body)
                    #expect(response.status == status, "\(what): \(response.bodyText)")
                    #expect(response.bodyText.contains(#""error":"\#(error)""#), "\(what): \(response.bodyText)")
                    if status == 503 { #expect(response.header("retry-after") == "30", "\(what)") }
                }
                #expect(
                    Set(server.received) == [
                        Self.goodPath, "/SimpleNotificationService-moved.pem", "/SimpleNotificationService-expired.pem",
                        "/SimpleNotificationService-subject.pem", "/SimpleNotificationService-down.pem",
                    ],
                    "only URLs under the prefix were fetched; the redirect was not followed"
                )
                // One good message after them: the topic then holds it alone.
                let good = try Self.notification(server, id: "ok-1").body(signedBy: signer)
                #expect(try await Self.post(relay, good).status == 202)
                _ = try await relay.consumer().waitForMessages(topic: "aws-sns.orders", count: 1)
                let published = try await relay.consumer().readAll(topic: "aws-sns.orders", timeout: .seconds(1))
                #expect(published.compactMap { $0.header("ce_id") } == ["ok-1"], "nothing refused was published")
            }
            // Without certificate_private_addresses, a host on loopback is never contacted.
            let before = server.received.count
            let environment = Self.environment(server, privateAddresses: false)
            try await withTestRelay(environment: environment, clock: ManualWallClock(unixSeconds: Self.now)) { relay in
                let response = try await Self.post(
                    relay,
                    try Self.notification(server, id: "p-1").body(signedBy: signer)
                )
                #expect(response.status == 401 && response.bodyText.contains("private address"), "\(response.bodyText)")
            }
            #expect(server.received.count == before, "nothing was fetched")
        }
    }

    @Test(
        "Amazon SNS: a SubscriptionConfirmation is confirmed by the relay with confirm_subscriptions, otherwise published for an operator"
    )
    func subscriptionConfirmation() async throws {
        try await withCertificateServer { server in
            let signer = try LocalSigningCertificate(authority: server.authority, commonName: "sns.amazonaws.com")
            server.serve(Self.goodPath, .init(body: signer.pem))
            server.serve("/", .init(body: "<ConfirmSubscriptionResponse/>"))
            let subscribe = server.url("/?Action=ConfirmSubscription&TopicArn=\(Self.topicArn)&Token=2336412f37fb")
            let confirmation = try SNSTestMessage(
                topicArn: Self.topicArn,
                messageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
                message: "You have chosen to subscribe to the topic \(Self.topicArn).",
                timestamp: Self.timestamp(Self.now),
                subscribeURL: subscribe,
                certificateURL: server.url(Self.goodPath)
            ).body(signedBy: signer)
            let clock = ManualWallClock(unixSeconds: Self.now)
            try await withTestRelay(environment: Self.environment(server, confirm: true), clock: clock) { relay in
                let response = try await Self.post(relay, confirmation)
                #expect(
                    response.status == 200 && response.bodyText == "subscription confirmed",
                    "\(response.status) \(response.bodyText)"
                )
                #expect(
                    server.received.contains { $0.hasPrefix("/?Action=ConfirmSubscription") },
                    "SubscribeURL visited"
                )
            }
            let visits = server.received.filter { $0.hasPrefix("/?Action") }.count
            try await withTestRelay(environment: Self.environment(server), clock: clock) { relay in
                let response = try await Self.post(relay, confirmation)
                #expect(response.status == 202, "\(response.bodyText)")
                let records = try await relay.consumer().waitForMessages(
                    topic: "aws-sns.SubscriptionConfirmation",
                    count: 1
                )
                #expect(records.first?.value == confirmation)
            }
            #expect(server.received.filter { $0.hasPrefix("/?Action") }.count == visits, "not confirmed twice")
        }
    }
}

/// PayPal, through the same local certificate host.
@Suite("PayPal, end to end", .serialized, .timeLimit(.minutes(3)))
struct PayPalEndToEndTests {
    static let webhookID = "1JE4291016473214C"
    static let certificatePath = "/v1/notifications/certs/CERT-360caa42-fca2a594-test"

    static func event(_ id: String, note: String = "") -> [UInt8] {
        Array(
            #"{"id":"\#(id)","event_version":"1.0","create_time":"2026-01-01T00:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed for € 12.50 EUR","resource":{"id":"42311647XV020574X","status":"COMPLETED","note":"\#(note)"}}"#
                .utf8
        )
    }

    static func headers(
        _ body: [UInt8],
        signer: LocalSigningCertificate,
        certificateURL: String,
        transmission: String,
        time: Int64 = CertificateSenderEndToEndTests.now,
        webhookID: String = webhookID
    ) throws -> [(String, String)] {
        let timeText = RFC3339.format(unixSeconds: time)
        let signed = PayPalScheme.signedString(
            transmissionID: transmission,
            time: timeText,
            webhookID: webhookID,
            body: body
        )
        return [
            ("content-type", "application/json"), ("paypal-transmission-id", transmission),
            ("paypal-transmission-time", timeText), ("paypal-transmission-sig", try signer.sign(signed)),
            ("paypal-cert-url", certificateURL), ("paypal-auth-algo", "SHA256withRSA"), ("paypal-auth-version", "v2"),
        ]
    }

    static func post(_ relay: TestRelay, _ body: [UInt8], _ headers: [(String, String)]) async throws -> TestResponse {
        try await HTTPTestClient.send(port: relay.port, path: "/webhooks/paypal", headers: headers, body: body)
    }

    /// `body` with its `note` (32 or more `a`s) rewritten so that its CRC-32 is `target`: CRC-32 is
    /// affine in the body's bits, so flipping `a` to `c` at chosen places reaches any value. What
    /// an attacker who read a record could do with its signature.
    static func forged(_ body: [UInt8], crc target: UInt32) -> [UInt8]? {
        let run = Array(String(repeating: "a", count: 48).utf8)
        guard let start = body.indices.first(where: { body[$0...].starts(with: run) }) else { return nil }
        let base = PayPalScheme.crc32(body)
        // One row per flippable place: its effect on the CRC, and which places it combines.
        var rows: [(effect: UInt32, places: UInt64)] = (0..<48).map { place in
            var flipped = body
            flipped[start + place] = UInt8(ascii: "c")
            return (PayPalScheme.crc32(flipped) ^ base, UInt64(1) << place)
        }
        var wanted = target ^ base
        var chosen: UInt64 = 0
        for bit in (0..<32).reversed() {
            guard let pivot = rows.firstIndex(where: { $0.effect >> bit & 1 == 1 }) else { continue }
            let row = rows.remove(at: pivot)
            for index in rows.indices where rows[index].effect >> bit & 1 == 1 {
                rows[index].effect ^= row.effect
                rows[index].places ^= row.places
            }
            if wanted >> bit & 1 == 1 {
                wanted ^= row.effect
                chosen ^= row.places
            }
        }
        guard wanted == 0 else { return nil }
        var result = body
        for place in 0..<48 where chosen >> place & 1 == 1 { result[start + place] = UInt8(ascii: "c") }
        return PayPalScheme.crc32(result) == target ? result : nil
    }

    @Test(
        "PayPal: an event is published once, byte for byte; a body forged to the signed CRC-32, another webhook id, a stale time or a URL outside the prefixes are refused; nothing else fetched"
    )
    func paypal() async throws {
        try await withCertificateServer { server in
            let signer = try LocalSigningCertificate(
                authority: server.authority,
                commonName: "messageverificationcerts.paypal.com"
            )
            server.serve(Self.certificatePath, .init(body: signer.pem))
            let environment = [
                "RELAY_PAYPAL_WEBHOOK_ID": Self.webhookID,
                "RELAY_PAYPAL_CERTIFICATE_URLS": server.url("/v1/notifications/certs/"),
                "RELAY_PAYPAL_CERTIFICATE_CA_FILE": server.caFile,
                "RELAY_PAYPAL_CERTIFICATE_PRIVATE_ADDRESSES": "true",
            ]
            let now = CertificateSenderEndToEndTests.now
            try await withTestRelay(environment: environment, clock: ManualWallClock(unixSeconds: now)) { relay in
                let url = server.url(Self.certificatePath)
                let body = Self.event("WH-2WR32451HC0233532-67976317FL4543714", note: String(repeating: "a", count: 48))
                let headers = try Self.headers(
                    body,
                    signer: signer,
                    certificateURL: url,
                    transmission: "b2384410-f8d2-11ec-9ba2-0001"
                )
                let published = try await Self.post(relay, body, headers)
                #expect(published.status == 202, "\(published.bodyText)")
                #expect(published.bodyText.contains(#""topic":"paypal.PAYMENT.CAPTURE.COMPLETED""#))
                // PayPal's retry: a new transmission, the same event.
                let retryHeaders = try Self.headers(
                    body,
                    signer: signer,
                    certificateURL: url,
                    transmission: "b2384410-f8d2-11ec-9ba2-0002"
                )
                let retry = try await Self.post(relay, body, retryHeaders)
                #expect(retry.status == 200 && retry.bodyText.contains("duplicate"), "\(retry.bodyText)")

                // Someone who read the record builds another event with the same CRC-32 and sends
                // it under the captured signature.
                let other = Self.event("WH-FORGED0000000000-0000000000000000", note: String(repeating: "a", count: 48))
                let forgery = try #require(Self.forged(other, crc: PayPalScheme.crc32(body)))
                #expect(forgery != body && PayPalScheme.crc32(forgery) == PayPalScheme.crc32(body))
                let refused = try await Self.post(relay, forgery, headers)
                #expect(refused.status == 401 && refused.bodyText.contains("another body"), "\(refused.bodyText)")

                for (what, sent, sentHeaders, error) in [
                    (
                        "another webhook id", Self.event("WH-3"),
                        try Self.headers(
                            Self.event("WH-3"),
                            signer: signer,
                            certificateURL: url,
                            transmission: "t-3",
                            webhookID: "9XL90610J3647323C"
                        ),
                        "invalid_signature"
                    ),
                    (
                        "a stale time", Self.event("WH-4"),
                        try Self.headers(
                            Self.event("WH-4"),
                            signer: signer,
                            certificateURL: url,
                            transmission: "t-4",
                            time: now - 301
                        ),
                        "stale_timestamp"
                    ),
                    (
                        "a URL outside the prefixes", Self.event("WH-5"),
                        try Self.headers(
                            Self.event("WH-5"),
                            signer: signer,
                            certificateURL: server.url("/certs/CERT-5"),
                            transmission: "t-5"
                        ),
                        "untrusted_certificate"
                    ),
                ] as [(String, [UInt8], [(String, String)], String)] {
                    let response = try await Self.post(relay, sent, sentHeaders)
                    #expect(response.status == 401, "\(what): \(response.bodyText)")
                    #expect(response.bodyText.contains(#""error":"\#(error)""#), "\(what): \(response.bodyText)")
                }
                #expect(server.received == [Self.certificatePath], "one fetch; nothing outside the prefixes")
                let records = try await relay.consumer().waitForMessages(
                    topic: "paypal.PAYMENT.CAPTURE.COMPLETED",
                    count: 1
                )
                #expect(records.count == 1 && records.first?.value == body, "once, byte for byte")
                #expect(records.first?.keyString == "42311647XV020574X")
                #expect(records.first?.header("ce_id") == "WH-2WR32451HC0233532-67976317FL4543714")
                let all = try await relay.consumer().readAll(
                    topic: "paypal.PAYMENT.CAPTURE.COMPLETED",
                    timeout: .seconds(1)
                )
                #expect(all.count == 1, "the forgery and the refusals published nothing")
            }
        }
    }
}
