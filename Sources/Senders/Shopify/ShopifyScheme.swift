import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Shopify: `X-Shopify-Hmac-Sha256` is padded standard base64 of HMAC-SHA256 over the raw body,
/// keyed with the UTF-8 of the app's client secret. Newer event deliveries use the same names
/// without `X-` (`shopify-hmac-sha256`). Shopify signs no time: the dedup window on
/// `X-Shopify-Webhook-Id` alone stops replays.
public struct ShopifyScheme: CataloguedScheme {
    /// CloudEvents types are `com.shopify.<event type>`.
    public static let cloudEventTypePrefix = "com.shopify"

    /// One family of header names (`X-Shopify-*` or the unprefixed `shopify-*`).
    struct Headers: Sendable {
        let hmac: HTTPField.Name
        let topic: HTTPField.Name
        let webhookID: HTTPField.Name
        let forwarded: [HTTPField.Name]

        init(prefix: String) {
            func name(_ suffix: String) -> HTTPField.Name { HTTPField.Name(prefix + suffix)! }
            hmac = name("hmac-sha256")
            topic = name("topic")
            webhookID = name("webhook-id")
            forwarded = [
                name("topic"), name("hmac-sha256"), name("shop-domain"), name("api-version"), name("webhook-id"),
                name("event-id"), name("triggered-at"),
            ]
        }

        static let prefixed = Headers(prefix: "x-shopify-")
        static let unprefixed = Headers(prefix: "shopify-")
    }

    /// The Kafka key: the resource's id (order, product, customer…).
    public static let keyField: JSONPointer = "/id"

    /// Topics Shopify commonly sends (including the mandatory privacy ones); others are published too.
    public static let catalogue: Set<String> = [
        "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
        "products/create", "products/update", "products/delete", "customers/create", "customers/update",
        "customers/delete", "fulfillments/create", "refunds/create", "inventory_levels/update", "app/uninstalled",
        "customers/data_request", "customers/redact", "shop/redact",
    ]

    private let keys: [HMACKey]

    public init(secrets: [String]) {
        self.keys = secrets.map { HMACKey(secret: $0) }
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let names =
            request.headers[Headers.prefixed.hmac] == nil && request.headers[Headers.unprefixed.hmac] != nil
            ? Headers.unprefixed : Headers.prefixed
        let name = names.hmac.canonicalName
        guard let signature = try request.headers.single(names.hmac) else { throw .missingSignature(header: name) }
        guard let code = Base64.decode(signature), code.count == SHA256.byteCount else {
            throw .badSignature(header: name, reason: "is not standard, padded base64 of 32 bytes")
        }
        // Shopify never signs an empty body; its own verifier refuses one before the HMAC.
        guard !request.body.isEmpty else { throw .badSignature(header: name, reason: "signs an empty body") }
        let matched = request.body.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let topic = try request.headers.required(names.topic)
        guard EventName.isValid(topic) else { throw .invalidHeader(names.topic.canonicalName, reason: EventName.rule) }
        let id = try request.headers.required(names.webhookID)
        guard DeliveryID.isValid(id) else {
            throw .invalidHeader(names.webhookID.canonicalName, reason: DeliveryID.rule)
        }
        return VerifiedWebhook(
            eventType: topic,
            deliveryID: id,
            signedAt: nil,
            checks: ["signature"],
            forwardedHeaders: request.headers.forwarded(names.forwarded)
        )
    }

    public var signsTimestamps: Bool { false }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(
            deliveryID: [Headers.prefixed.webhookID, Headers.unprefixed.webhookID],
            eventType: [Headers.prefixed.topic, Headers.unprefixed.topic]
        )
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let topic = delivery.eventType, EventName.isValid(topic) else {
            throw SigningError("Shopify names the topic in X-Shopify-Topic: pass --event, e.g. orders/create")
        }
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        return [
            ("content-type", "application/json"),
            ("x-shopify-topic", topic),
            ("x-shopify-hmac-sha256", Base64.encode(key.code(for: delivery.body))),
            ("x-shopify-shop-domain", "webhook-relay-sign.myshopify.com"),
            ("x-shopify-api-version", "2026-01"),
            ("x-shopify-webhook-id", delivery.deliveryID ?? UUID().uuidString.lowercased()),
        ]
    }
}
