import Crypto
import Foundation
import HTTPTypes
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// A source's settings as a test hands them to a sender.
struct StubSourceSettings: SourceSettings {
    var name = "test"
    var secrets: [String]
    var secretsSetting = Setting("sources.<source>.secrets", "RELAY_<SOURCE>_SECRETS", "").forSource("test")
    var timestampTolerance: Int64 = 300
    var publicURL: String?
    var values: [String: String] = [:]

    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String? {
        values[setting.forSource(name).key]
    }

    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int {
        Int(values[setting.forSource(name).key] ?? setting.defaultValue ?? "") ?? 0
    }

    mutating func list(_ setting: Setting) throws(ConfigurationError) -> [String] {
        values[setting.forSource(name).key].map { $0.split(separator: ",").map(String.init) } ?? []
    }

    mutating func boolean(_ setting: Setting) throws(ConfigurationError) -> Bool {
        (values[setting.forSource(name).key] ?? setting.defaultValue) == "true"
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: Setting,
        _ type: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
        let raw = values[setting.forSource(name).key] ?? setting.defaultValue ?? ""
        guard let value = Choice(rawValue: raw) else { throw ConfigurationError(setting, "'\(raw)' is not a choice") }
        return value
    }
}

/// An ed25519 key pair, as a Standard Webhooks sender signing `v1a` holds it.
struct Curve25519SigningKey {
    let key = Curve25519.Signing.PrivateKey()
    var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }
    func sign(_ data: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: data)) }
}

@Suite("Senders: signers, settings and the pitfalls the libraries disagree on")
struct SenderTests {
    /// The senders signed with a secret or key pair (``SenderTooling``); Amazon SNS and PayPal name a
    /// certificate to fetch, and are tested against a local certificate host (dev's walkthrough and
    /// `CertificateSenderEndToEndTests`).
    static let senders = TestSenders.registry.senders.filter { $0 is any SenderTooling }
    static let now: Int64 = 1_767_225_600

    func scheme(
        _ sender: any SenderTooling,
        secrets: [String]? = nil,
        values: [String: String] = [:]
    ) throws -> any WebhookScheme & WebhookSigner {
        var settings = StubSourceSettings(secrets: secrets ?? [sender.generateCredentials().secret], values: values)
        if sender.name == "docutray" { settings.values["sources.test.webhook_url"] = "https://relay.example.com/w" }
        // What a dev source of the sender needs besides a secret, e.g. the URL it signs.
        for (setting, value) in sender.example.settings {
            let resolved = value.replacingOccurrences(of: "{url}", with: "https://relay.example.com/webhooks/test")
            if setting == .sourcePublicURL {
                settings.publicURL = resolved
            } else {
                settings.values[setting.forSource(settings.name).key] = resolved
            }
        }
        let scheme = try sender.makeScheme(for: &settings)
        return try #require(scheme as? any WebhookScheme & WebhookSigner, "every registered scheme signs")
    }

    /// The registered sender `name`, with its tooling (every one registered today has it).
    func sender(named name: String) throws -> any SenderTooling {
        try #require(TestSenders.registry.sender(named: name) as? any SenderTooling)
    }

    func request(_ headers: [(name: String, value: String)], body: [UInt8]) -> WebhookRequest {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return WebhookRequest(headers: fields, body: body)
    }

    func delivery(_ sender: any SenderTooling, id: String? = "dlv_0001", signingKey: String? = nil) -> OutgoingDelivery
    {
        OutgoingDelivery(
            body: Array(sender.example.body.utf8),
            eventType: sender.example.eventType,
            deliveryID: id,
            timestamp: Self.now,
            signingKey: signingKey
        )
    }

    /// The sender's example as `signer` sends it: the body stamped with what the sender writes into
    /// it (Linear's time, Mailgun's signature), and the headers.
    func signed(
        _ sender: any SenderTooling,
        by signer: any WebhookSigner,
        signingKey: String? = nil
    ) throws -> (headers: [(name: String, value: String)], body: [UInt8]) {
        var outgoing = delivery(sender, signingKey: signingKey)
        outgoing.body = signer.stamped(outgoing)
        return (try signer.sign(outgoing), outgoing.body)
    }

    @Test(
        "Every sender's signer makes deliveries its scheme accepts, and no other secret does",
        arguments: senders.map(\.name)
    )
    func signerRoundTrip(_ name: String) throws {
        let sender = try self.sender(named: name)
        let credentials = sender.generateCredentials()
        let scheme = try scheme(sender, secrets: [sender.generateCredentials().secret, credentials.secret])
        let signer = try self.scheme(sender, secrets: [credentials.secret])
        let (headers, body) = try signed(sender, by: signer, signingKey: credentials.signingKey)
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        let verified = try scheme.verify(request(headers, body: body), now: now)
        let descriptor = scheme.describe(eventType: verified.eventType)
        #expect(sender.example.topic == "\(name).\(descriptor.topicName)" || name == "docutray")
        #expect(verified.signedAt == nil || verified.signedAt == Self.now)
        #expect(!verified.deliveryID.isEmpty)
        let impostor = try self.scheme(sender, secrets: [sender.generateCredentials().secret])
        #expect(throws: WebhookRejection.self) { try impostor.verify(request(headers, body: body), now: now) }
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        if scheme.signedParts.contains(.body) {
            #expect(throws: WebhookRejection.self) { try scheme.verify(request(headers, body: tampered), now: now) }
        } else {
            #expect(
                ["gitlab", "mailgun", "adyen"].contains(name),
                "only GitLab, Mailgun and Adyen leave body bytes unsigned"
            )
        }
    }

    /// The senders that sign no time (generic-hmac as configured here, without a timestamp header).
    static let untimed: Set = ["github", "shopify", "generic-hmac", "square", "gitlab", "adyen", "twilio"]

    @Test(
        "Senders that sign a time refuse it 301 s off either way; the untimed ones sign none",
        arguments: senders.map(\.name)
    )
    func freshness(_ name: String) throws {
        let sender = try self.sender(named: name)
        let credentials = sender.generateCredentials()
        let scheme = try scheme(sender, secrets: [credentials.secret])
        let (headers, body) = try signed(sender, by: scheme, signingKey: credentials.signingKey)
        for offset in [-301.0, 301] {
            let at = Date(timeIntervalSince1970: TimeInterval(Self.now) + offset)
            if scheme.signsTimestamps {
                #expect(throws: WebhookRejection.staleTimestamp(age: Int64(offset), tolerance: 300)) {
                    try scheme.verify(request(headers, body: body), now: at)
                }
            } else {
                #expect(throws: Never.self) { try scheme.verify(request(headers, body: body), now: at) }
            }
        }
        #expect(
            scheme.signsTimestamps == !Self.untimed.contains(name)
        )
    }

    @Test("A Standard Webhooks secret that is not strict base64 stops the start, naming the key")
    func standardWebhooksSecretValidation() throws {
        let sender = StandardWebhooksSender()
        // Docutray's secret shape, which a lenient decoder would silently turn into 12 bytes.
        for bad in ["whsec_test_9f8e7d6c5b4a", "whsec_" + Base64.encode([UInt8](repeating: 1, count: 8)), "whpk_AAAA"] {
            do {
                _ = try scheme(sender, secrets: [bad])
                Issue.record("accepted \(bad)")
            } catch let error as ConfigurationError {
                #expect(error.key == "sources.test.secrets")
                #expect(!error.description.contains(bad))
            }
        }
        // Without whsec_, and without its = padding, the same key still parses.
        let key = [UInt8](repeating: 7, count: 32)
        let padded = Base64.encode(key)
        #expect(StandardWebhooksSecret(padded) == .symmetric(key))
        #expect(StandardWebhooksSecret("whsec_" + padded.replacingOccurrences(of: "=", with: "")) == .symmetric(key))
    }

    @Test("Standard Webhooks: odd spacing and junk entries are skipped; fractions and stray characters are not")
    func standardWebhooksSignatureList() throws {
        let secret = "whsec_" + Base64.encode([UInt8](repeating: 9, count: 32))
        let scheme = StandardWebhooksScheme(secrets: [try #require(StandardWebhooksSecret(secret))])
        let body = Array(#"{"type":"a.b","data":{"id":"x"}}"#.utf8)
        let signed = try scheme.sign(OutgoingDelivery(body: body, deliveryID: "msg_1", timestamp: Self.now))
        let signature = try #require(signed.first { $0.name == "webhook-signature" }?.value)
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        func verify(signature: String, timestamp: String = String(Self.now)) throws -> VerifiedWebhook {
            try scheme.verify(
                request(
                    [("webhook-id", "msg_1"), ("webhook-timestamp", timestamp), ("webhook-signature", signature)],
                    body: body
                ),
                now: now
            )
        }
        for accepted in ["v1,bm90IHRoaXM= \(signature)", "garbage  \(signature)", "v2,abc \(signature) v1a,xyz"] {
            #expect(throws: Never.self) { try verify(signature: accepted) }
        }
        let corrupted = signature.replacingOccurrences(of: "v1,", with: "v1,!")
        #expect(throws: WebhookRejection.self) { try verify(signature: corrupted) }
        #expect(throws: WebhookRejection.self) { try verify(signature: signature, timestamp: "\(Self.now).0") }
        #expect(throws: WebhookRejection.self) { try verify(signature: signature, timestamp: "+\(Self.now)") }
    }

    @Test("Standard Webhooks: a v1a ed25519 signature verifies against a whpk_ public key")
    func standardWebhooksEd25519() throws {
        let privateKey = Curve25519SigningKey()
        let scheme = StandardWebhooksScheme(
            secrets: [try #require(StandardWebhooksSecret("whpk_" + Base64.encode(privateKey.publicKey)))]
        )
        let body = Array(#"{"type":"user.created","data":{"id":"u1"}}"#.utf8)
        let content = Array("msg_ed.\(Self.now).".utf8) + body
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        func headers(_ signature: String) -> [(name: String, value: String)] {
            [("webhook-id", "msg_ed"), ("webhook-timestamp", String(Self.now)), ("webhook-signature", signature)]
        }
        let good = "v1a," + Base64.encode(try privateKey.sign(content))
        let verified = try scheme.verify(request(headers(good), body: body), now: now)
        #expect(verified.checks == ["timestamp", "signature-v1a"])
        let other = "v1a," + Base64.encode(try Curve25519SigningKey().sign(content))
        #expect(throws: WebhookRejection.self) { try scheme.verify(request(headers(other), body: body), now: now) }
        #expect(throws: WebhookRejection.self) {
            try scheme.verify(request(headers(good), body: body + [0x20]), now: now)
        }
    }

    @Test("Signature lists are capped: nine entries are refused before any is computed, even with a valid one")
    func signatureListsCapped() throws {
        let body = Array(#"{"id":"evt_9","type":"charge.succeeded","data":{"id":"x","object":{"id":"ch_9"}}}"#.utf8)
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        func reason(_ scheme: any WebhookScheme, _ headers: [(name: String, value: String)]) -> String? {
            do {
                _ = try scheme.verify(request(headers, body: body), now: now)
                return nil
            } catch {
                if case .badSignature(_, let reason) = error { return reason }
                return "\(error)"
            }
        }
        let standard = try scheme(StandardWebhooksSender())
        let signed = try standard.sign(OutgoingDelivery(body: body, deliveryID: "msg_9", timestamp: Self.now))
        let valid = try #require(signed.first { $0.name == "webhook-signature" }?.value)
        func standardHeaders(_ signature: String) -> [(name: String, value: String)] {
            [("webhook-id", "msg_9"), ("webhook-timestamp", String(Self.now)), ("webhook-signature", signature)]
        }
        let decoys = (0..<7).map { _ in "v1," + Base64.encode([UInt8](repeating: 1, count: 32)) }
        #expect(reason(standard, standardHeaders((decoys + [valid]).joined(separator: " "))) == nil)
        #expect(
            reason(standard, standardHeaders((decoys + ["v1,AAAA", valid]).joined(separator: " ")))
                == "carries more than 8 signatures"
        )
        // 800 entries over a large body: refused from the header alone.
        let many = Array(repeating: "v1a," + Base64.encode([UInt8](repeating: 2, count: 64)), count: 800)
        #expect(reason(standard, standardHeaders(many.joined(separator: " "))) == "carries more than 8 signatures")

        let stripe = try scheme(StripeSender())
        let header = try #require(
            try stripe.sign(OutgoingDelivery(body: body, timestamp: Self.now)).first { $0.name == "stripe-signature" }
        ).value
        let extra = (0..<7).map { _ in "v1=" + String(repeating: "0", count: 64) }.joined(separator: ",")
        #expect(reason(stripe, [("stripe-signature", header + "," + extra)]) == nil)
        #expect(
            reason(stripe, [("stripe-signature", header + "," + extra + ",v0=00")]) == "carries more than 8 signatures"
        )
    }

    @Test("Standard Webhooks: at most four ed25519 checks a request (v1a entries times whpk_ keys)")
    func standardWebhooksPublicKeyChecksCapped() throws {
        let first = Curve25519SigningKey()
        let second = Curve25519SigningKey()
        let scheme = try scheme(
            StandardWebhooksSender(),
            secrets: ["whpk_" + Base64.encode(first.publicKey), "whpk_" + Base64.encode(second.publicKey)]
        )
        let body = Array(#"{"type":"user.created","data":{"id":"u1"}}"#.utf8)
        let content = Array("msg_ed.\(Self.now).".utf8) + body
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        func verify(_ entries: [String]) throws -> VerifiedWebhook {
            let headers = [
                ("webhook-id", "msg_ed"), ("webhook-timestamp", String(Self.now)),
                ("webhook-signature", entries.joined(separator: " ")),
            ]
            return try scheme.verify(request(headers, body: body), now: now)
        }
        let good = "v1a," + Base64.encode(try second.sign(content))
        let forged = "v1a," + Base64.encode([UInt8](repeating: 5, count: 64))
        #expect(try verify([forged, good]).checks == ["timestamp", "signature-v1a"])
        #expect {
            try verify([forged, forged, good])
        } throws: { error in
            guard case WebhookRejection.badSignature(_, let reason) = error else { return false }
            return reason.contains("at most 4 ed25519 checks")
        }
    }

    @Test("Standard Webhooks: a public key that does not parse stops the start, naming its position")
    func standardWebhooksBadPublicKey() throws {
        let good = "whsec_" + Base64.encode([UInt8](repeating: 4, count: 32))
        for bad in ["whpk_" + Base64.encode([UInt8](repeating: 4, count: 31)), "whpk_not-base64!"] {
            #expect {
                try scheme(StandardWebhooksSender(), secrets: [good, bad])
            } throws: { error in
                (error as? ConfigurationError)?.description.contains("secret 2 ") == true
            }
        }
    }

    @Test("Stripe: one t only, digits only, and a secret must be the whole whsec_ string")
    func stripeHeaderRules() throws {
        let secret = "whsec_" + Hex.encode([UInt8](repeating: 3, count: 32))
        let scheme = StripeScheme(secrets: [secret])
        let body = Array(#"{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}"#.utf8)
        let signed = try scheme.sign(OutgoingDelivery(body: body, timestamp: Self.now))
        let header = try #require(signed.first { $0.name == "stripe-signature" }?.value)
        let v1 = String(header.split(separator: ",")[1])
        let now = Date(timeIntervalSince1970: TimeInterval(Self.now))
        func verify(_ value: String) throws -> VerifiedWebhook {
            try scheme.verify(request([("stripe-signature", value)], body: body), now: now)
        }
        #expect(try verify("\(v1),v0=00,t=\(Self.now)").deliveryID == "evt_1")
        for refused in [
            "t=\(Self.now),t=1,\(v1)", "t=+0\(Self.now),\(v1)", "t=\(Self.now), \(v1)",
            "t=\(Self.now),\(v1.uppercased())",
        ] {
            #expect(throws: WebhookRejection.self, "\(refused)") { try verify(refused) }
        }
        var settings = StubSourceSettings(secrets: ["sk_live_not_a_signing_secret"])
        #expect(throws: ConfigurationError.self) { try StripeSender().makeScheme(for: &settings) }
    }

    @Test("GitHub: only X-Hub-Signature-256; a form-encoded hook is told to switch to JSON")
    func gitHubRules() throws {
        let scheme = GitHubScheme(secrets: ["gh-secret-0001"])
        let body = Array(#"{"zen":"Keep it logically awesome."}"#.utf8)
        let signed = try scheme.sign(OutgoingDelivery(body: body, eventType: "ping", timestamp: Self.now))
        let sha256 = try #require(signed.first { $0.name == "x-hub-signature-256" }?.value)
        var headers = signed.filter { $0.name != "x-hub-signature-256" }
        headers.append(("x-hub-signature", "sha1=" + String(repeating: "0", count: 40)))
        #expect(throws: WebhookRejection.self) { try scheme.verify(request(headers, body: body), now: Date()) }
        let upper = signed.map {
            $0.name == "x-hub-signature-256" ? ($0.name, "sha256=" + sha256.dropFirst(7).uppercased()) : $0
        }
        let verified = try scheme.verify(request(upper, body: body), now: Date())
        #expect(verified.eventType == "ping")
        #expect(scheme.mediaTypeHint?.contains("application/json") == true)
    }

    @Test("Slack: url_verification is answered with its challenge, escaped; retries keep their event_id")
    func slackChallenge() throws {
        let scheme = SlackScheme(secrets: ["slack-signing-0001"])
        let body = Array(#"{"type":"url_verification","token":"t","challenge":"a\"b\\c"}"#.utf8)
        let signed = try scheme.sign(OutgoingDelivery(body: body, timestamp: Self.now))
        let verified = try scheme.verify(
            request(signed, body: body),
            now: Date(timeIntervalSince1970: TimeInterval(Self.now))
        )
        let reply = try #require(verified.reply)
        #expect(reply.status == 200 && reply.contentType == "application/json")
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"challenge":"a\"b\\c"}"#)
        #expect(try JSONScanner.scan(reply.body, capturing: ["/challenge"]) == [#"a"b\c"#])
    }
}
