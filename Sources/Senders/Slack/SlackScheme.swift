import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Slack's Events API: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`,
/// keyed with the UTF-8 of the app's signing secret. The URL check (`url_verification`) is answered
/// with its challenge and not published; every other event is named by `event.type` and identified
/// by `event_id`, which Slack keeps on its retries (`X-Slack-Retry-Num`).
public struct SlackScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.slack.<event type>`.
    public static let cloudEventTypePrefix = "com.slack"

    /// The header names Slack sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-slack-signature")!
        public static let timestamp = HTTPField.Name("x-slack-request-timestamp")!
        public static let retryNumber = HTTPField.Name("x-slack-retry-num")!
        public static let retryReason = HTTPField.Name("x-slack-retry-reason")!
    }

    /// The body fields that name an Events API delivery.
    public static let outerTypeField: JSONPointer = "/type"
    public static let eventTypeField: JSONPointer = "/event/type"
    public static let eventIDField: JSONPointer = "/event_id"
    public static let challengeField: JSONPointer = "/challenge"
    /// The Kafka key: one conversation's events stay in order on one partition.
    public static let keyField: JSONPointer = "/event/channel"

    /// Events apps commonly subscribe to; others are published just as well.
    public static let catalogue: Set<String> = [
        "message", "app_mention", "reaction_added", "reaction_removed", "member_joined_channel",
        "member_left_channel", "channel_created", "channel_rename", "team_join", "app_home_opened",
        "app_uninstalled", "tokens_revoked", "file_shared", "user_change",
    ]

    private let keys: [HMACKey]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = 300) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let timestampText = try request.headers.required(Header.timestamp)
        let timestamp = try UnixTimestamp.fresh(
            timestampText,
            header: Header.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        let content = Array("v0:\(timestampText):".utf8) + request.body
        try PrefixedHexSignature.verify(signature, prefix: "v0=", message: content, keys: keys, header: name)
        let forwarded = request.headers.forwarded([
            Header.signature, Header.timestamp, Header.retryNumber, Header.retryReason,
        ])
        let outerType = try fields.required(Self.outerTypeField)
        if outerType == "url_verification" {
            let challenge = try fields.required(Self.challengeField)
            return VerifiedWebhook(
                eventType: outerType,
                deliveryID: "url_verification",
                signedAt: timestamp,
                checks: ["timestamp", "signature"],
                forwardedHeaders: forwarded,
                reply: Self.challengeReply(challenge)
            )
        }
        let eventType = try fields.value(at: Self.eventTypeField) ?? outerType
        guard EventName.isValid(eventType) else { throw .invalidField(Self.eventTypeField, reason: EventName.rule) }
        let id = try fields.deliveryID(at: Self.eventIDField)
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", "signature"],
            forwardedHeaders: forwarded
        )
    }

    /// `{"challenge":"…"}`, with the challenge escaped as a JSON string.
    static func challengeReply(_ challenge: String) -> WebhookReply {
        .json(JSONText.object(["challenge": .string(challenge)]))
    }

    public var bodyFields: [JSONPointer] {
        [Self.outerTypeField, Self.eventTypeField, Self.eventIDField, Self.challengeField]
    }

    /// `v0:{timestamp}:{body}`; the event id and type are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public var mediaTypeHint: String? {
        "the relay takes the Events API, which posts JSON; slash commands and interactivity are form-encoded"
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let content = Array("v0:\(delivery.timestamp):".utf8) + delivery.body
        return [
            ("content-type", "application/json"),
            ("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)"),
            (Header.timestamp.canonicalName, String(delivery.timestamp)),
            (Header.signature.canonicalName, PrefixedHexSignature.sign(content, prefix: "v0=", key: key)),
        ]
    }
}
