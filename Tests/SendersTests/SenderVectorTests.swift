import Foundation
import HTTPTypes
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Every known-answer vector of `sender-signatures.json` (made and judged with each sender's official
/// library): each valid one is accepted at its `now`, each invalid one refused. A new sender brings
/// its vectors, or the suite fails for it.
@Suite("Sender signature vectors")
struct SenderVectorTests {
    static let standardWebhooksVectors = (try? SenderVector.all(scheme: "standard-webhooks")) ?? []
    static let githubVectors = (try? SenderVector.all(scheme: "github")) ?? []
    static let stripeVectors = (try? SenderVector.all(scheme: "stripe")) ?? []
    static let shopifyVectors = (try? SenderVector.all(scheme: "shopify")) ?? []
    static let slackVectors = (try? SenderVector.all(scheme: "slack")) ?? []
    static let genericVectors = (try? SenderVector.all(scheme: "generic-hmac")) ?? []
    static let hubspotVectors = (try? SenderVector.all(scheme: "hubspot")) ?? []
    static let zoomVectors = (try? SenderVector.all(scheme: "zoom")) ?? []
    static let squareVectors = (try? SenderVector.all(scheme: "square")) ?? []
    static let paddleVectors = (try? SenderVector.all(scheme: "paddle")) ?? []
    static let twitchVectors = (try? SenderVector.all(scheme: "twitch")) ?? []
    static let linearVectors = (try? SenderVector.all(scheme: "linear")) ?? []
    static let gitlabVectors = (try? SenderVector.all(scheme: "gitlab")) ?? []
    static let mailgunVectors = (try? SenderVector.all(scheme: "mailgun")) ?? []
    static let adyenVectors = (try? SenderVector.all(scheme: "adyen")) ?? []
    static let twilioVectors = (try? SenderVector.all(scheme: "twilio")) ?? []
    static let sendgridVectors = (try? SenderVector.all(scheme: "sendgrid")) ?? []
    static let discordVectors = (try? SenderVector.all(scheme: "discord")) ?? []
    static let snsVectors = (try? SenderVector.all(scheme: "aws-sns")) ?? []
    static let paypalVectors = (try? SenderVector.all(scheme: "paypal")) ?? []

    @Test(
        "Every registered sender has known-answer vectors, valid and invalid, with intact bodies",
        arguments: TestSenders.registry.names.filter { $0 != "docutray" }  // Docutray's are a file of their own
    )
    func everySenderHasVectors(_ name: String) throws {
        let vectors = try SenderVector.all(scheme: name)
        let valid = vectors.filter(\.valid).count
        #expect(valid > 0, "\(name): no vector a correct verifier accepts")
        #expect(valid < vectors.count, "\(name): no vector a correct verifier refuses")
        for vector in vectors { #expect(vector.bodyIsIntact, "\(vector.name)") }
    }

    @Test("Standard Webhooks and Svix", arguments: standardWebhooksVectors)
    func standardWebhooks(_ vector: SenderVector) throws {
        let secret = try #require(StandardWebhooksSecret(vector.secret), "the secret must parse")
        let scheme = StandardWebhooksScheme(secrets: [secret])
        if let verified = try judge(vector, scheme: scheme) {
            #expect(verified.deliveryID == vector.headers["webhook-id"] ?? vector.headers["svix-id"])
            let timestamp = vector.headers["webhook-timestamp"] ?? vector.headers["svix-timestamp"]
            #expect(verified.signedAt == timestamp.flatMap { Int64($0) })
        }
    }

    @Test("GitHub", arguments: githubVectors)
    func github(_ vector: SenderVector) throws {
        if let verified = try judge(vector, scheme: GitHubScheme(secrets: [vector.secret])) {
            #expect(verified.deliveryID == vector.headers["x-github-delivery"])
            #expect(verified.eventType.hasPrefix(vector.headers["x-github-event"] ?? "?"))
        }
    }

    @Test("Stripe", arguments: stripeVectors)
    func stripe(_ vector: SenderVector) throws {
        let verified = try judge(vector, scheme: StripeScheme(secrets: [vector.secret]))
        if let verified {
            let fields = try JSONScanner.scan(vector.bodyBytes, capturing: ["/id", "/type"])
            #expect(verified.deliveryID == fields[0])
            #expect(verified.eventType == fields[1])
        }
    }

    @Test("Shopify", arguments: shopifyVectors)
    func shopify(_ vector: SenderVector) throws {
        let verified = try judge(vector, scheme: ShopifyScheme(secrets: [vector.secret]))
        if let verified {
            #expect(verified.deliveryID == vector.headers["x-shopify-webhook-id"])
            #expect(verified.eventType == vector.headers["x-shopify-topic"])
        }
    }

    @Test("Slack", arguments: slackVectors)
    func slack(_ vector: SenderVector) throws {
        let verified = try judge(vector, scheme: SlackScheme(secrets: [vector.secret]))
        if vector.name == "pos-url-verification" {
            let reply = try #require(verified?.reply)
            let challenge = try JSONScanner.scan(vector.bodyBytes, capturing: ["/challenge"])[0]
            #expect(try JSONScanner.scan(reply.body, capturing: ["/challenge"])[0] == challenge)
        }
    }

    @Test("HubSpot", arguments: hubspotVectors)
    func hubspot(_ vector: SenderVector) throws {
        let url = "https://hooks.example.com/webhooks/hubspot"
        let verified = try judge(vector, scheme: HubSpotScheme(secrets: [vector.secret], url: url))
        if let verified {
            let events = try #require(verified.events)
            let items = try JSONScanner.scan(vector.bodyBytes, capturing: [], shape: .array).elements
            #expect(events.map(\.body) == items.map { Array(vector.bodyBytes[$0]) }, "each event is its item, as sent")
            #expect(events.map(\.deliveryID) == ["62515-2001-1001", "62515-2002-1002"])
            #expect(events.map(\.eventType) == ["contact.creation", "contact.propertyChange"])
            #expect(verified.signedAt == vector.headers["x-hubspot-request-timestamp"].flatMap { Int64($0) }! / 1000)
        }
    }

    @Test("Zoom", arguments: zoomVectors)
    func zoom(_ vector: SenderVector) throws {
        let verified = try judge(vector, scheme: ZoomScheme(secrets: [vector.secret]))
        guard let verified else { return }
        let fields = try JSONScanner.scan(vector.bodyBytes, capturing: ["/event", "/payload/plainToken"])
        #expect(verified.eventType == fields[0])
        #expect(verified.deliveryID.hasPrefix("zm-") && verified.deliveryID.count == 27)
        if let encrypted = vector.encryptedToken {
            let reply = try #require(verified.reply, "the endpoint check is answered")
            let answer = try JSONScanner.scan(reply.body, capturing: ["/plainToken", "/encryptedToken"])
            #expect(answer == [fields[1], encrypted])
        } else {
            #expect(verified.reply == nil)
        }
    }

    @Test("Square", arguments: squareVectors)
    func square(_ vector: SenderVector) throws {
        let scheme = SquareScheme(secrets: [vector.secret], url: "https://hooks.example.com/webhooks/square")
        guard let verified = try judge(vector, scheme: scheme) else { return }
        let fields = try JSONScanner.scan(vector.bodyBytes, capturing: ["/event_id", "/type"])
        #expect([verified.deliveryID, verified.eventType] == fields)
        #expect(verified.signedAt == nil, "Square signs no time")
    }

    @Test("Paddle", arguments: paddleVectors)
    func paddle(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: PaddleScheme(secrets: [vector.secret])) else { return }
        let fields = try JSONScanner.scan(vector.bodyBytes, capturing: ["/event_id", "/event_type"])
        #expect([verified.deliveryID, verified.eventType] == fields)
        #expect(verified.signedAt == 1_767_225_600)
    }

    @Test("GitLab", arguments: gitlabVectors)
    func gitlab(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: GitLabScheme(secrets: [vector.secret])) else { return }
        #expect(verified.eventType == "merge_request.open")
        #expect(verified.deliveryID == vector.headers["x-gitlab-event-uuid"])
        #expect(!verified.forwardedHeaders.contains { $0.name == "x-gitlab-token" }, "the token is never forwarded")
        #expect(!verified.forwardedHeaders.contains { $0.value.contains(vector.secret) })
    }

    @Test("Mailgun", arguments: mailgunVectors)
    func mailgun(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: MailgunScheme(secrets: [vector.secret])) else { return }
        let fields = try JSONScanner.scan(
            vector.bodyBytes,
            capturing: ["/event-data/id", "/event-data/event", "/signature/token"]
        )
        #expect([verified.deliveryID, verified.eventType] == Array(fields.prefix(2)))
        #expect(verified.dedupKey == "mailgun-token:" + (fields[2] ?? ""), "the single-use token names the delivery")
        #expect(verified.signedAt == 1_767_225_600)
    }

    @Test("Adyen", arguments: adyenVectors)
    func adyen(_ vector: SenderVector) throws {
        let key = try #require(Hex.decode(vector.secret))
        let scheme = AdyenScheme(keys: [key])
        #expect(scheme.successReply?.body == Array("[accepted]".utf8))
        guard let verified = try judge(vector, scheme: scheme) else { return }
        let events = try #require(verified.events)
        let items = try JSONScanner.scan(
            vector.bodyBytes,
            capturing: [],
            shape: .object,
            elementsAt: "/notificationItems"
        ).elements
        #expect(events.map(\.body) == items.map { Array(vector.bodyBytes[$0]) }, "each event is its item, as sent")
        let ids = ["QFQTPCQ8HXSKGK82:AUTHORISATION:true", "V4HZ4RBFJGXXGN82:CAPTURE:true"]
        #expect(events.map(\.deliveryID) == Array(ids.prefix(events.count)))
        #expect(events.map(\.eventType) == Array(["authorisation", "capture"].prefix(events.count)))
    }

    @Test("Twilio", arguments: twilioVectors)
    func twilio(_ vector: SenderVector) throws {
        let scheme = TwilioScheme(secrets: [vector.secret], url: "https://hooks.example.com/webhooks/twilio")
        guard let verified = try judge(vector, scheme: scheme) else { return }
        let isSMS = vector.name == "pos-incoming-sms" || vector.name == "pos-fields-reordered"
        #expect(verified.eventType == (isSMS ? "message.received" : "message.delivered"))
        #expect(verified.deliveryID == vector.headers["i-twilio-idempotency-token"])
        if vector.headers["content-type"] == "application/x-www-form-urlencoded" {
            #expect(verified.subject == "SM0123456789abcdef0123456789abcdef", "the message is the key")
        }
    }

    @Test(
        "Twilio: fields reordered or re-encoded under one signature are one delivery, deduplicated on what was signed"
    )
    func twilioDedupsOnTheSignedFields() throws {
        let scheme = TwilioScheme(
            secrets: ["12345678901234567890123456789012"],
            url: "https://hooks.example.com/webhooks/twilio"
        )
        let vectors = Dictionary(uniqueKeysWithValues: Self.twilioVectors.map { ($0.name, $0) })
        let original = try #require(vectors["pos-incoming-sms"])
        let reordered = try #require(vectors["pos-fields-reordered"])
        #expect(original.bodyBytes != reordered.bodyBytes)
        let first = try scheme.verify(original.request, now: original.date)
        let second = try scheme.verify(reordered.request, now: reordered.date)
        #expect(first.dedupKey != nil && first.dedupKey == second.dedupKey)
        let other = try scheme.verify(try #require(vectors["pos-status-callback"]).request, now: original.date)
        #expect(other.dedupKey != first.dedupKey)
    }

    @Test("Twitch", arguments: twitchVectors)
    func twitch(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: TwitchScheme(secrets: [vector.secret])) else { return }
        #expect(verified.deliveryID == vector.headers["twitch-eventsub-message-id"])
        #expect(verified.signedAt == 1_767_225_600, "the fraction of a second is dropped")
        switch vector.headers["twitch-eventsub-message-type"] {
        case "webhook_callback_verification":
            let reply = try #require(verified.reply, "the challenge is answered")
            #expect(reply.contentType == "text/plain; charset=utf-8")
            #expect(reply.body == Array("pogchamp-kappa-360noscope-vohiyo".utf8))
        case "revocation":
            #expect(verified.eventType == "revocation" && verified.reply == nil)
        default:
            #expect(verified.eventType == "channel.follow" && verified.reply == nil)
        }
    }

    @Test("Linear", arguments: linearVectors)
    func linear(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: LinearScheme(secrets: [vector.secret])) else { return }
        #expect(verified.eventType == "Issue.create")
        #expect(verified.deliveryID == vector.headers["linear-delivery"])
        #expect(verified.signedAt == 1_767_225_600)
    }

    /// The scheme a source of `sender` builds with the vector's key as its only secret (so the key
    /// is parsed as the operator pastes it).
    func configured(_ sender: some Sender, key: String) throws -> any WebhookScheme {
        var settings = StubSourceSettings(secrets: [key])
        return try sender.makeScheme(for: &settings)
    }

    @Test("SendGrid", arguments: sendgridVectors)
    func sendgrid(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: try configured(SendGridSender(), key: vector.secret)) else {
            return
        }
        let events = try #require(verified.events)
        #expect(events.map(\.eventType) == ["processed", "delivered"])
        #expect(events.map(\.deliveryID) == ["rbtnWrG1DVDGGGFHFyun0A==", "x6Wd5dRtTlyGrOVTwOzgKg=="])
        #expect(verified.signedAt == 1_767_225_600)
    }

    @Test("Discord", arguments: discordVectors)
    func discord(_ vector: SenderVector) throws {
        guard let verified = try judge(vector, scheme: try configured(DiscordSender(), key: vector.secret)) else {
            return
        }
        if vector.name == "pos-ping" {
            #expect(verified.reply == DiscordScheme.Reply.pong, "a PING is answered, not published")
        } else {
            #expect(verified.reply == nil && verified.successReply == DiscordScheme.Reply.deferredMessage)
            #expect(verified.eventType == "application_command")
            #expect(verified.deliveryID == "1325000000000000001")
        }
    }

    @Test("Amazon SNS", arguments: snsVectors)
    func amazonSNS(_ vector: SenderVector) throws {
        var settings = StubSourceSettings(secrets: [])
        settings.values["sources.test.topic_arns"] = "arn:aws:sns:us-east-1:123456789012:orders"
        let scheme = try AmazonSNSSender().makeScheme(for: &settings)
        #expect(vector.fetchedKey != nil, "the vector's certificate holds an RSA key")
        guard let verified = try judge(vector, scheme: scheme) else { return }
        #expect(verified.deliveryID == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324")
        #expect(verified.signedAt == 1_767_225_600)
        #expect(
            verified.eventType
                == (vector.name == "pos-subscription-confirmation" ? "SubscriptionConfirmation" : "orders")
        )
    }

    @Test("PayPal", arguments: paypalVectors)
    func paypal(_ vector: SenderVector) throws {
        var settings = StubSourceSettings(secrets: [])
        settings.values["sources.test.webhook_id"] = vector.secret
        let scheme = try PayPalSender().makeScheme(for: &settings)
        guard let verified = try judge(vector, scheme: scheme) else { return }
        #expect(verified.eventType == "PAYMENT.CAPTURE.COMPLETED")
        #expect(verified.signedAt == 1_767_225_600)
        #expect(verified.deliveryID.hasPrefix("WH-"))
    }

    @Test("PayPal: a body forged to a seen transmission's CRC-32 is refused; the same body again is not")
    func paypalTransmissionLog() throws {
        var settings = StubSourceSettings(secrets: [])
        settings.values["sources.test.webhook_id"] = "1JE4291016473214C"
        let scheme = try PayPalSender().makeScheme(for: &settings)
        let vectors = Dictionary(uniqueKeysWithValues: Self.paypalVectors.map { ($0.name, $0) })
        let original = try #require(vectors["pos-capture-completed"])
        let forged = try #require(vectors["pos-forged-same-crc"])
        #expect(original.headers == forged.headers && original.body != forged.body)
        _ = try scheme.verify(original.request, now: original.date)
        _ = try scheme.verify(original.request, now: original.date)
        #expect(throws: WebhookRejection.self, "the forgery under the seen transmission") {
            try scheme.verify(forged.request, now: forged.date)
        }
    }

    /// Verifies `vector` and checks the verdict. A valid vector whose body is not a JSON object (a
    /// form-encoded or empty body), or lacks the fields that name a delivery (`{}` for Stripe),
    /// passes its signature check and then fails only for the body, which the relay reads after the
    /// signature: that counts as accepted.
    /// - Returns: what the scheme verified, when it got that far with a JSON body.
    func judge(
        _ vector: SenderVector,
        scheme: any WebhookScheme,
        fields: HTTPFields? = nil
    ) throws -> VerifiedWebhook? {
        var request = vector.request
        if let fields { request.headers = fields }
        do {
            let verified = try scheme.verify(request, now: vector.date)
            #expect(vector.valid, "\(vector.name) was accepted but must be refused")
            #expect(!verified.checks.isEmpty)
            // Mailgun's, Adyen's and Amazon SNS's signatures are in the body, which is the record's value.
            let inBody = scheme is MailgunScheme || scheme is AdyenScheme || scheme is AmazonSNSScheme
            #expect(!verified.forwardedHeaders.isEmpty || inBody, "the signature headers are forwarded")
            return verified
        } catch {
            if case .invalidBody = error, vector.valid {
                #expect(throws: JSONScanError.self, "only a body that is not JSON may fail after the signature") {
                    try JSONScanner.scan(vector.bodyBytes, capturing: [])
                }
                return nil
            }
            if case .invalidField(let pointer, _) = error, vector.valid {
                #expect(try JSONScanner.scan(vector.bodyBytes, capturing: [pointer]) == [nil], "\(pointer) is there")
                return nil
            }
            #expect(!vector.valid, "\(vector.name) was refused: \(error)")
            return nil
        }
    }
}
