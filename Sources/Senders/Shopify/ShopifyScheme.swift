import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Shopify: `X-Shopify-Hmac-Sha256` is padded standard base64 of HMAC-SHA256 over the raw body,
/// keyed with the UTF-8 of the app's client secret. Newer event deliveries use the same names
/// without `X-` (`shopify-hmac-sha256`). Shopify signs no time: the dedup window on
/// `X-Shopify-Webhook-Id` alone stops replays.
public struct ShopifyScheme: CataloguedScheme, WebhookSigner {
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

    /// Topics Shopify commonly sends (including the mandatory privacy ones); their topics are
    /// looked up at start.
    public static let catalogue: Set<String> = [
        "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
        "products/create", "products/update", "products/delete", "customers/create", "customers/update",
        "customers/delete", "fulfillments/create", "refunds/create", "inventory_levels/update", "app/uninstalled",
        "customers/data_request", "customers/redact", "shop/redact",
    ]

    /// Every topic Shopify documents for webhooks. `X-Shopify-Topic` is not signed, so a topic
    /// outside this list is published to the source's overflow topic, not a Kafka topic of its own.
    public static let topics: Set<String> = catalogue.union([
        "app/scopes_update", "app_purchases_one_time/update", "app_subscriptions/approaching_capped_amount",
        "app_subscriptions/update", "audit_events/admin_api_activity", "bulk_operations/finish", "carts/create",
        "carts/update", "channels/delete", "checkouts/create", "checkouts/delete", "checkouts/update",
        "collection_listings/add", "collection_listings/remove", "collection_listings/update",
        "collection_publications/create", "collection_publications/delete", "collection_publications/update",
        "collections/create", "collections/delete", "collections/update", "companies/create", "companies/delete",
        "companies/update", "company_contact_roles/assign", "company_contact_roles/revoke",
        "company_contacts/create", "company_contacts/delete", "company_contacts/update",
        "company_locations/create", "company_locations/delete", "company_locations/update",
        "customer.tags_added", "customer.tags_removed", "customer_account_settings/update",
        "customer_groups/create", "customer_groups/delete", "customer_groups/update",
        "customer_payment_methods/create", "customer_payment_methods/revoke", "customer_payment_methods/update",
        "customers/disable", "customers/enable", "customers/merge", "customers/purchasing_summary",
        "customers_email_marketing_consent/update", "customers_marketing_consent/update",
        "delivery_promise_settings/update",
        "discounts/create", "discounts/delete", "discounts/redeemcode_added", "discounts/redeemcode_removed",
        "discounts/update", "disputes/create", "disputes/update", "domains/create", "domains/destroy",
        "domains/update", "draft_orders/create", "draft_orders/delete", "draft_orders/update",
        "finance_app_staff_member/delete", "finance_app_staff_member/grant", "finance_app_staff_member/revoke",
        "finance_app_staff_member/update", "finance_kyc_information/update", "fulfillment_events/create",
        "fulfillment_events/delete", "fulfillment_holds/added", "fulfillment_holds/released",
        "fulfillment_orders/cancellation_request_accepted", "fulfillment_orders/cancellation_request_rejected",
        "fulfillment_orders/cancellation_request_submitted", "fulfillment_orders/cancelled",
        "fulfillment_orders/fulfillment_request_accepted", "fulfillment_orders/fulfillment_request_rejected",
        "fulfillment_orders/fulfillment_request_submitted", "fulfillment_orders/fulfillment_service_failed_to_complete",
        "fulfillment_orders/hold_released", "fulfillment_orders/line_items_prepared_for_local_delivery",
        "fulfillment_orders/line_items_prepared_for_pickup", "fulfillment_orders/merged", "fulfillment_orders/moved",
        "fulfillment_orders/order_routing_complete", "fulfillment_orders/placed_on_hold",
        "fulfillment_orders/rescheduled", "fulfillment_orders/scheduled_fulfillment_order_ready",
        "fulfillment_orders/split", "fulfillments/update", "inventory_items/create", "inventory_items/delete",
        "inventory_items/update", "inventory_levels/connect", "inventory_levels/disconnect", "locales/create",
        "locales/update", "locations/activate", "locations/create", "locations/deactivate", "locations/delete",
        "locations/update", "markets/create", "markets/delete", "markets/update", "metafield_definitions/create",
        "metafield_definitions/delete", "metafield_definitions/update", "metaobjects/create", "metaobjects/delete",
        "metaobjects/update", "order_transactions/create", "orders/delete", "orders/edited", "orders/link_requested",
        "orders/partially_fulfilled", "orders/risk_assessment_changed", "orders/shopify_protect_eligibility_changed",
        "payment_schedules/due", "payment_terms/create", "payment_terms/delete", "payment_terms/update",
        "product_feeds/create", "product_feeds/full_sync", "product_feeds/full_sync_finish",
        "product_feeds/incremental_sync", "product_feeds/update", "product_listings/add", "product_listings/remove",
        "product_listings/update", "product_publications/create", "product_publications/delete",
        "product_publications/update", "profiles/create", "profiles/delete", "profiles/update", "returns/approve",
        "returns/cancel", "returns/close", "returns/decline", "returns/process", "returns/reopen", "returns/request",
        "returns/update", "reverse_deliveries/attach_deliverable", "reverse_fulfillment_orders/dispose",
        "scheduled_product_listings/add", "scheduled_product_listings/remove", "scheduled_product_listings/update",
        "segments/create", "segments/delete", "segments/update", "selling_plan_groups/create",
        "selling_plan_groups/delete", "selling_plan_groups/update", "shipping_addresses/create",
        "shipping_addresses/update", "shop/update", "subscription_billing_attempts/challenged",
        "subscription_billing_attempts/failure", "subscription_billing_attempts/success",
        "subscription_billing_cycle_edits/create", "subscription_billing_cycle_edits/delete",
        "subscription_billing_cycle_edits/update", "subscription_billing_cycles/skip",
        "subscription_billing_cycles/unskip", "subscription_contracts/activate", "subscription_contracts/cancel",
        "subscription_contracts/create", "subscription_contracts/expire", "subscription_contracts/fail",
        "subscription_contracts/pause", "subscription_contracts/update", "tax_services/create",
        "tax_services/update", "tender_transactions/create", "themes/create", "themes/delete", "themes/publish",
        "themes/update", "variants/in_stock", "variants/out_of_stock",
    ])

    private let keys: [HMACKey]

    public static func documents(_ eventType: String) -> Bool { topics.contains(eventType) }

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

    /// The body only: the topic, webhook id and shop domain headers are not signed.
    public var signedParts: SignedParts { .body }

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
