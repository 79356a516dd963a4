import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Linear webhooks: `Linear-Signature` is the lowercase hex HMAC-SHA256, keyed with the UTF-8 of the
/// webhook's signing secret, of the body. The time is the body's `webhookTimestamp` (milliseconds),
/// which Linear's SDK allows 60 seconds from now. The event type is the body's `type` and `action`
/// (`Issue.create`); the delivery id `Linear-Delivery` is not signed, so the body is the dedup key.
public struct LinearScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `app.linear.<type>.<action>`.
    public static let cloudEventTypePrefix = "app.linear"

    /// The header names Linear sends.
    public enum Header {
        public static let signature = HTTPField.Name("linear-signature")!
        public static let delivery = HTTPField.Name("linear-delivery")!
        public static let event = HTTPField.Name("linear-event")!
    }

    public static let typeField: JSONPointer = "/type"
    public static let actionField: JSONPointer = "/action"
    public static let timestampField: JSONPointer = "/webhookTimestamp"
    /// The Kafka key: the entity the event is about (one issue's events stay in order).
    public static let keyField: JSONPointer = "/data/id"

    /// What Linear's SDK allows between `webhookTimestamp` and now.
    public static let defaultTolerance: Int64 = 60

    /// Events Linear sends for the data types a webhook subscribes to; others are published just as
    /// well (they are signed).
    public static let catalogue: Set<String> = {
        let types = [
            "Issue", "Comment", "IssueLabel", "Project", "ProjectUpdate", "Cycle", "Reaction", "Document",
            "Initiative", "Customer", "CustomerNeed", "User",
        ]
        return Set(types.flatMap { type in ["create", "update", "remove"].map { "\(type).\($0)" } })
            .union(["IssueAttachment.create", "IssueSLA.set", "IssueSLA.breached", "OAuthApp.revoked"])
    }()

    private let keys: [HMACKey]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = LinearScheme.defaultTolerance) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        guard signature.utf8.count == 2 * SHA256.byteCount, let code = Hex.decode(signature, lowercaseOnly: true) else {
            throw .badSignature(header: name, reason: "is not 64 lowercase hex digits")
        }
        let matched = request.body.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let millisText = try fields.required(Self.timestampField)
        guard (1...15).contains(millisText.utf8.count), let millis = Int64(millisText), millis >= 0 else {
            throw .invalidField(Self.timestampField, reason: "must be Unix milliseconds")
        }
        let signedAt = try UnixTimestamp.checkFresh(milliseconds: millis, now: now, tolerance: timestampTolerance)
        let type = try fields.required(Self.typeField)
        let eventType = try fields.value(at: Self.actionField).map { "\(type).\($0)" } ?? type
        guard EventName.isValid(eventType) else { throw .invalidField(Self.typeField, reason: EventName.rule) }
        let id = try request.headers.required(Header.delivery)
        guard DeliveryID.isValid(id) else {
            throw .invalidHeader(Header.delivery.canonicalName, reason: DeliveryID.rule)
        }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: signedAt,
            checks: ["timestamp", "signature"],
            forwardedHeaders: request.headers.forwarded([Header.signature, Header.delivery, Header.event])
        )
    }

    public var bodyFields: [JSONPointer] { [Self.typeField, Self.actionField, Self.timestampField] }

    /// The body, and the type, action and time in it; `Linear-Delivery` is not signed.
    public var signedParts: SignedParts { [.body, .eventType, .timestamp] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders(deliveryID: [Header.delivery], eventType: [Header.event]) }

    /// The body with its top-level `webhookTimestamp` set to the delivery's time in milliseconds.
    public func stamped(_ delivery: OutgoingDelivery) -> [UInt8] {
        let body = delivery.body
        let name = Array(#""webhookTimestamp""#.utf8)
        guard let start = body.firstRange(of: name)?.upperBound else { return body }
        var valueStart = start
        while valueStart < body.count, [0x20, 0x3A].contains(body[valueStart]) { valueStart += 1 }
        var valueEnd = valueStart
        while valueEnd < body.count, (0x30...0x39).contains(body[valueEnd]) { valueEnd += 1 }
        guard valueEnd > valueStart else { return body }
        return Array(body[..<valueStart]) + Array(String(delivery.timestamp * 1000).utf8) + Array(body[valueEnd...])
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        return [
            ("content-type", "application/json; charset=utf-8"),
            ("user-agent", "Linear-Webhook"),
            (Header.delivery.canonicalName, delivery.deliveryID(orNew: "")),
            (Header.signature.canonicalName, Hex.encode(key.code(for: delivery.body))),
        ]
    }
}
