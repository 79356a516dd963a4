import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Paddle Billing notifications: `Paddle-Signature: ts=<Unix seconds>;h1=<hex>`, with one `h1` per
/// active secret while a secret is rotated; h1 is the hex HMAC-SHA256, keyed with the UTF-8 of the
/// notification destination's secret key, of `{ts}:{body}`. Paddle's own SDK allows 5 seconds
/// between `ts` and now, and so does the relay unless `timestamp_tolerance` says otherwise.
public struct PaddleScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.paddle.<event>`.
    public static let cloudEventTypePrefix = "com.paddle"

    public static let signature = HTTPField.Name("paddle-signature")!
    public static let typeField: JSONPointer = "/event_type"
    public static let idField: JSONPointer = "/event_id"
    /// The Kafka key: the entity the event is about (a transaction's, a subscription's events stay in order).
    public static let keyField: JSONPointer = "/data/id"

    /// What Paddle's SDK allows between the signed time and now.
    public static let defaultTolerance: Int64 = 5

    /// Events Paddle commonly sends; others are published just as well (they are signed).
    public static let catalogue: Set<String> = [
        "transaction.created", "transaction.updated", "transaction.ready", "transaction.billed",
        "transaction.paid", "transaction.completed", "transaction.canceled", "transaction.payment_failed",
        "transaction.past_due", "subscription.created", "subscription.activated", "subscription.updated",
        "subscription.trialing", "subscription.past_due", "subscription.paused", "subscription.resumed",
        "subscription.canceled", "subscription.imported", "customer.created", "customer.updated",
        "address.created", "address.updated", "adjustment.created", "adjustment.updated", "payout.created",
        "payout.paid", "price.created", "price.updated", "product.created", "product.updated",
    ]

    private let keys: [HMACKey]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = PaddleScheme.defaultTolerance) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Self.signature.canonicalName
        guard let header = try request.headers.single(Self.signature) else { throw .missingSignature(header: name) }
        var timestampText: Substring?
        var signatures: [[UInt8]] = []
        // As Paddle's SDK reads it: `key=value` parts split at `;`, parts without `=` skipped, any
        // key but ts and h1 refused, the last ts wins.
        for part in try SignatureList.entries(header, separator: ";", name: name, uncounted: { $0.hasPrefix("ts=") }) {
            let pieces = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pieces.count > 1 else { continue }
            guard pieces.count == 2 else { throw .badSignature(header: name, reason: "has a part with two '='") }
            switch pieces[0] {
            case "ts": timestampText = pieces[1]
            case "h1":
                if pieces[1].utf8.count == 2 * SHA256.byteCount, let bytes = Hex.decode(pieces[1], lowercaseOnly: true)
                {
                    signatures.append(bytes)
                }
            default: throw .badSignature(header: name, reason: "has a key other than ts and h1")
            }
        }
        guard let timestampText, let timestamp = UnixTimestamp.parse(String(timestampText)) else {
            throw .badSignature(header: name, reason: "must have ts=<Unix seconds>")
        }
        guard !signatures.isEmpty else {
            throw .badSignature(header: name, reason: "has no h1=<64 lowercase hex digits> signature")
        }
        try UnixTimestamp.checkFresh(timestamp, now: now, tolerance: timestampTolerance)
        let content = Array(timestampText.utf8) + [UInt8(ascii: ":")] + request.body
        let matched = content.withUnsafeBytes { HMACKey.anyMatches(signatures, message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let eventType = try fields.eventType(at: Self.typeField)
        let id = try fields.deliveryID(at: Self.idField)
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", "signature"],
            forwardedHeaders: request.headers.forwarded([Self.signature])
        )
    }

    public var bodyFields: [JSONPointer] { [Self.typeField, Self.idField] }

    /// `{ts}:{body}`; the event id and type are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let code = key.code(for: Array("\(delivery.timestamp):".utf8) + delivery.body)
        return [
            ("content-type", "application/json"),
            ("user-agent", "Paddle"),
            (Self.signature.canonicalName, "ts=\(delivery.timestamp);h1=\(Hex.encode(code))"),
        ]
    }
}
