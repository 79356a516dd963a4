import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Square webhooks: `x-square-hmacsha256-signature` is the base64 HMAC-SHA256, keyed with the UTF-8
/// of the subscription's signature key, of the notification URL followed by the body. The URL is the
/// source's `public_url` with the query the request came with. Square signs no time: the event id,
/// type and `created_at` are in the signed body, and the dedup window keeps replays out.
public struct SquareScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.squareup.<event>`.
    public static let cloudEventTypePrefix = "com.squareup"

    /// The header names Square sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-square-hmacsha256-signature")!
        public static let retryNumber = HTTPField.Name("square-retry-number")!
        public static let retryReason = HTTPField.Name("square-retry-reason")!
        public static let initialDelivery = HTTPField.Name("square-initial-delivery-timestamp")!
    }

    public static let typeField: JSONPointer = "/type"
    public static let idField: JSONPointer = "/event_id"
    /// The Kafka key: the object the event is about (a payment's, an order's events stay in order).
    public static let keyField: JSONPointer = "/data/id"

    /// Events Square commonly sends; others are published just as well (they are signed).
    public static let catalogue: Set<String> = [
        "payment.created", "payment.updated", "refund.created", "refund.updated", "order.created", "order.updated",
        "order.fulfillment.updated", "invoice.created", "invoice.published", "invoice.payment_made",
        "invoice.updated", "invoice.canceled", "customer.created", "customer.updated", "customer.deleted",
        "subscription.created", "subscription.updated", "dispute.created", "dispute.state.updated",
        "inventory.count.updated", "catalog.version.updated", "booking.created", "booking.updated",
        "loyalty.account.updated", "payout.sent", "payout.failed", "oauth.authorization.revoked",
    ]

    private let keys: [HMACKey]
    private let url: String

    /// - Parameter url: the notification URL of the webhook subscription (the source's `public_url`).
    public init(secrets: [String], url: String) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.url = url
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
        guard let code = Base64.decode(signature), code.count == SHA256.byteCount else {
            throw .badSignature(header: name, reason: "is not the base64 of a 32-byte HMAC-SHA256")
        }
        // Square's library refuses an empty body before the HMAC.
        guard !request.body.isEmpty else { throw .badSignature(header: name, reason: "signs an empty body") }
        let message = Array((request.url ?? url).utf8) + request.body
        let matched = message.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let eventType = try fields.eventType(at: Self.typeField)
        let id = try fields.deliveryID(at: Self.idField)
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: nil,
            checks: ["signature"],
            forwardedHeaders: request.headers.forwarded([
                Header.signature, Header.retryNumber, Header.retryReason, Header.initialDelivery,
            ])
        )
    }

    public var bodyFields: [JSONPointer] { [Self.typeField, Self.idField] }

    /// URL and body; the event id and type are read from the signed body. No time is signed.
    public var signedParts: SignedParts { [.body, .deliveryID, .eventType] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public var signedURL: String? { url }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        return [
            ("content-type", "application/json"),
            ("user-agent", "Square Connect v2"),
            (Header.signature.canonicalName, Base64.encode(key.code(for: Array(url.utf8) + delivery.body))),
        ]
    }
}
