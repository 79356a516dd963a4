import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 over `{t}.{body}` keyed with the
/// UTF-8 of the whole `whsec_…` secret (not base64-decoded). The event's type and id are in the body.
public struct StripeScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.stripe.<event type>`.
    public static let cloudEventTypePrefix = "com.stripe"

    public static let signature = HTTPField.Name("stripe-signature")!
    /// The body fields naming the event.
    public static let typeField: JSONPointer = "/type"
    public static let idField: JSONPointer = "/id"
    /// The Kafka key: the object the event is about (`pi_…`, `in_…`, `cus_…`).
    public static let keyField: JSONPointer = "/data/object/id"

    /// Events Stripe commonly sends; others are published just as well.
    public static let catalogue: Set<String> = [
        "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.created",
        "payment_intent.canceled", "charge.succeeded", "charge.failed", "charge.refunded",
        "charge.dispute.created", "checkout.session.completed", "checkout.session.expired",
        "customer.created", "customer.updated", "customer.deleted", "customer.subscription.created",
        "customer.subscription.updated", "customer.subscription.deleted", "invoice.created", "invoice.paid",
        "invoice.payment_failed", "invoice.finalized", "payout.paid", "payout.failed", "refund.created",
    ]

    private let keys: [HMACKey]
    private let secrets: [String]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = 300) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.secrets = secrets
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Self.signature.canonicalName
        guard let header = try request.headers.single(Self.signature) else { throw .missingSignature(header: name) }
        var timestamps: [Substring] = []
        var signatures: [[UInt8]] = []
        // Elements are `key=value`, in any order; only t and v1 count (v0 is a test-mode decoy).
        let elements = try SignatureList.entries(header, separator: ",", name: name) { $0.hasPrefix("t=") }
        for element in elements {
            guard let equals = element.firstIndex(of: "=") else { continue }
            let value = element[element.index(after: equals)...]
            switch element[..<equals] {
            case "t": timestamps.append(value)
            case "v1":
                if value.utf8.count == 2 * SHA256.byteCount, let bytes = Hex.decode(value, lowercaseOnly: true) {
                    signatures.append(bytes)
                }
            default: continue
            }
        }
        guard timestamps.count == 1, let timestampText = timestamps.first,
            let timestamp = UnixTimestamp.parse(String(timestampText))
        else {
            throw .badSignature(header: name, reason: "must have exactly one t=<Unix seconds> element")
        }
        guard !signatures.isEmpty else {
            throw .badSignature(header: name, reason: "has no v1=<64 lowercase hex digits> signature")
        }
        let content = Array(timestampText.utf8) + [UInt8(ascii: ".")] + request.body
        let matched = content.withUnsafeBytes { HMACKey.anyMatches(signatures, message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        try UnixTimestamp.checkFresh(timestamp, now: now, tolerance: timestampTolerance)
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

    /// `{t}.{body}`; the event id and type are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let content = Array("\(delivery.timestamp).".utf8) + delivery.body
        return [
            ("content-type", "application/json; charset=utf-8"),
            ("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
            (Self.signature.canonicalName, "t=\(delivery.timestamp),v1=\(Hex.encode(key.code(for: content)))"),
        ]
    }
}
