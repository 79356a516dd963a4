import Crypto
import Foundation
import HTTPTypes
import RelayPrimitives
import SenderKit

/// Twitch EventSub over webhooks: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, the HMAC-SHA256,
/// keyed with the UTF-8 of the subscription's secret, of message id + timestamp + body, the
/// timestamp RFC 3339 within 10 minutes. The message type header is not signed, so the kind of
/// message is read from the signed body and the header must agree: a `webhook_callback_verification`
/// (its `challenge` is answered as text, nothing published), a `notification` (published by its
/// subscription type) or a `revocation` (published as `revocation`).
public struct TwitchScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `tv.twitch.<subscription type>`.
    public static let cloudEventTypePrefix = "tv.twitch"

    /// The header names Twitch sends.
    public enum Header {
        public static let id = HTTPField.Name("twitch-eventsub-message-id")!
        public static let retry = HTTPField.Name("twitch-eventsub-message-retry")!
        public static let type = HTTPField.Name("twitch-eventsub-message-type")!
        public static let signature = HTTPField.Name("twitch-eventsub-message-signature")!
        public static let timestamp = HTTPField.Name("twitch-eventsub-message-timestamp")!
        public static let subscriptionType = HTTPField.Name("twitch-eventsub-subscription-type")!
        public static let subscriptionVersion = HTTPField.Name("twitch-eventsub-subscription-version")!
    }

    /// The kinds of message, as `Twitch-Eventsub-Message-Type` names them.
    public enum MessageType: String, Sendable {
        case notification
        case verification = "webhook_callback_verification"
        case revocation
    }

    public static let subscriptionTypeField: JSONPointer = "/subscription/type"
    public static let statusField: JSONPointer = "/subscription/status"
    public static let challengeField: JSONPointer = "/challenge"
    /// The Kafka key: one channel's events stay in order on one partition.
    public static let keyField: JSONPointer = "/event/broadcaster_user_id"

    /// The event type of a revocation.
    public static let revocation = "revocation"

    /// What Twitch's documentation allows between the signed time and now.
    public static let defaultTolerance: Int64 = 600

    /// Subscription types apps commonly use; others are published just as well (they are signed).
    public static let catalogue: Set<String> = [
        "channel.follow", "channel.subscribe", "channel.subscription.gift", "channel.subscription.message",
        "channel.cheer", "channel.raid", "channel.ban", "channel.unban", "channel.update",
        "channel.chat.message", "channel.channel_points_custom_reward_redemption.add", "channel.poll.begin",
        "channel.poll.end", "channel.prediction.begin", "channel.prediction.end", "channel.hype_train.begin",
        "channel.hype_train.end", "stream.online", "stream.offline", "user.update", "user.authorization.grant",
        "user.authorization.revoke", revocation,
    ]

    private let keys: [HMACKey]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = TwitchScheme.defaultTolerance) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let id = try request.headers.required(Header.id)
        guard DeliveryID.isValid(id) else { throw .invalidHeader(Header.id.canonicalName, reason: DeliveryID.rule) }
        let timestampText = try request.headers.required(Header.timestamp)
        guard let timestamp = RFC3339.parse(timestampText) else {
            throw .invalidHeader(Header.timestamp.canonicalName, reason: "must be an RFC 3339 time")
        }
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        let content = Array((id + timestampText).utf8) + request.body
        try PrefixedHexSignature.verify(signature, prefix: "sha256=", message: content, keys: keys, header: name)
        try UnixTimestamp.checkFresh(timestamp, now: now, tolerance: timestampTolerance)
        let claimed = try request.headers.required(Header.type)
        let kind = try Self.messageType(fields)
        guard claimed == kind.rawValue else {
            throw .invalidHeader(Header.type.canonicalName, reason: "says \(claimed.prefix(40)) of a \(kind.rawValue)")
        }
        let forwarded = request.headers.forwarded([
            Header.signature, Header.id, Header.timestamp, Header.type, Header.retry, Header.subscriptionType,
            Header.subscriptionVersion,
        ])
        var eventType = Self.revocation
        if kind != .revocation {
            eventType = try fields.required(Self.subscriptionTypeField)
            guard EventName.isValid(eventType) else {
                throw .invalidField(Self.subscriptionTypeField, reason: EventName.rule)
            }
        }
        var reply: WebhookReply?
        if kind == .verification {
            reply = .text(try fields.required(Self.challengeField))
        }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", "signature"],
            forwardedHeaders: forwarded,
            reply: reply
        )
    }

    /// The kind of message the signed body is: a challenge is a verification, an `enabled`
    /// subscription a notification, any other status a revocation.
    static func messageType(_ fields: BodyFields) throws(WebhookRejection) -> MessageType {
        if try fields.value(at: challengeField) != nil { return .verification }
        return try fields.required(statusField) == "enabled" ? .notification : .revocation
    }

    public var bodyFields: [JSONPointer] { [Self.subscriptionTypeField, Self.statusField, Self.challengeField] }

    /// Message id, time and body; the kind and type of message are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(deliveryID: [Header.id], eventType: [Header.subscriptionType])
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let id = delivery.deliveryID(orNew: "")
        let timestamp = RFC3339.format(unixSeconds: delivery.timestamp)
        let fields = BodyFields(body: delivery.body, capturing: bodyFields)
        let kind = (try? Self.messageType(fields)) ?? .notification
        let subscriptionType = (try? fields.value(at: Self.subscriptionTypeField)) ?? nil
        let content = Array((id + timestamp).utf8) + delivery.body
        return [
            ("content-type", "application/json"),
            ("user-agent", "Twitch-Eventsub-Webhooks/1.0"),
            (Header.id.canonicalName, id),
            (Header.retry.canonicalName, "0"),
            (Header.type.canonicalName, kind.rawValue),
            (Header.timestamp.canonicalName, timestamp),
            (Header.subscriptionType.canonicalName, subscriptionType ?? ""),
            (Header.subscriptionVersion.canonicalName, "1"),
            (Header.signature.canonicalName, PrefixedHexSignature.sign(content, prefix: "sha256=", key: key)),
        ]
    }
}
