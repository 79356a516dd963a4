import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Mailgun webhooks: the signature is in the body, `signature: {timestamp, token, signature}`, the
/// hex HMAC-SHA256, keyed with the UTF-8 of the account's webhook signing key, of timestamp + token.
/// It covers neither the event nor its id: the token is single-use, so it is the dedup key (the same
/// token again is a duplicate, or with another body a conflict), and the time within the tolerance
/// bounds how long a captured token could be offered at all. `event-data.event` and `event-data.id`
/// are unsigned; an event name outside Mailgun's list goes to the overflow topic.
public struct MailgunScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.mailgun.<event>`.
    public static let cloudEventTypePrefix = "com.mailgun"

    /// The body fields Mailgun sends.
    public enum Field {
        public static let timestamp: JSONPointer = "/signature/timestamp"
        public static let token: JSONPointer = "/signature/token"
        public static let signature: JSONPointer = "/signature/signature"
        public static let event: JSONPointer = "/event-data/event"
        public static let id: JSONPointer = "/event-data/id"
    }

    /// The Kafka key: one message's events (accepted, delivered, opened…) stay in order.
    public static let keyField: JSONPointer = "/event-data/message/headers/message-id"

    /// Every event Mailgun documents for webhooks; the name is not signed, so only these get a
    /// topic of their own.
    public static let catalogue: Set<String> = [
        "accepted", "rejected", "delivered", "failed", "opened", "clicked", "unsubscribed", "complained",
        "stored", "list_member_uploaded", "list_member_upload_error", "list_uploaded",
    ]

    /// The longest token taken: Mailgun's are 50 hex digits.
    static let maximumTokenLength = 200

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
        let name = "signature.signature"
        guard let signature = try fields.value(at: Field.signature), !signature.isEmpty else {
            throw .missingSignature(header: name)
        }
        guard signature.utf8.count == 2 * SHA256.byteCount, let code = Hex.decode(signature, lowercaseOnly: true) else {
            throw .badSignature(header: name, reason: "is not 64 lowercase hex digits")
        }
        let timestampText = try fields.required(Field.timestamp)
        let token = try fields.deliveryID(at: Field.token)
        let message = Array((timestampText + token).utf8)
        let matched = message.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        guard let timestamp = UnixTimestamp.parse(timestampText) else {
            throw .invalidField(Field.timestamp, reason: "must be Unix seconds (digits only)")
        }
        try UnixTimestamp.checkFresh(timestamp, now: now, tolerance: timestampTolerance)
        let event = try fields.eventType(at: Field.event)
        let id = try fields.deliveryID(at: Field.id)
        return VerifiedWebhook(
            eventType: event,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", "signature"],
            forwardedHeaders: [],
            dedupKey: "mailgun-token:" + token
        )
    }

    public var bodyFields: [JSONPointer] {
        [Field.timestamp, Field.token, Field.signature, Field.event, Field.id]
    }

    /// The time and a single-use token; not the event, its id or anything else in the body.
    public var signedParts: SignedParts { [.timestamp] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    /// A body from a file, with its `signature` object written for the delivery's time: a new
    /// random token, signed (`webhook-relay sign`; the body must start with `{`).
    public func stamped(_ delivery: OutgoingDelivery) -> [UInt8] {
        guard let key = keys.first, delivery.body.first == UInt8(ascii: "{") else { return delivery.body }
        let body = Self.withoutSignature(delivery.body)
        let token = delivery.deliveryID ?? RandomText.hex(25)
        let code = Hex.encode(key.code(for: Array("\(delivery.timestamp)\(token)".utf8)))
        let signature =
            #"{"signature":{"timestamp":"\#(delivery.timestamp)","token":"\#(token)","signature":"\#(code)"}"#
        let rest = body.dropFirst().drop { $0 == 0x20 || $0 == 0x0A }
        return Array(signature.utf8) + (rest.first == UInt8(ascii: "}") ? [] : [UInt8(ascii: ",")]) + rest
    }

    /// `body` without a leading `"signature":{…},` member, as a sample saved from a real delivery
    /// has (the object holds only strings, so its first `}` ends it).
    static func withoutSignature(_ body: [UInt8]) -> [UInt8] {
        let prefix = Array(#"{"signature":{"#.utf8)
        guard body.starts(with: prefix), let close = body.firstIndex(of: UInt8(ascii: "}")) else { return body }
        var rest = body[(close + 1)...]
        if rest.first == UInt8(ascii: ",") { rest = rest.dropFirst() }
        return [UInt8(ascii: "{")] + rest
    }

    /// Mailgun sends no signature header: everything is in the body ``stamped(_:)`` writes.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard !keys.isEmpty else { throw SigningError("no secret is configured") }
        return [("content-type", "application/json"), ("user-agent", "mailgun/treq-16.12.0")]
    }
}
