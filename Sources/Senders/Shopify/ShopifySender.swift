import SenderKit

/// Shopify app webhooks (subscriptions made in the app's configuration or through the Admin API).
public struct ShopifySender: SenderTooling {
    public init() {}

    public var name: String { "shopify" }

    public var summary: String { "Shopify (X-Shopify-Hmac-Sha256; no timestamp, dedup on X-Shopify-Webhook-Id)" }

    public var settings: [Setting] { [] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://shopify.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        ShopifyScheme(secrets: source.secrets)
    }

    public func generateSecret() -> String {
        "shpss_" + RandomText.hex(16)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: "orders/create",
            body: #"{"id":820982911946154508,"email":"jon@example.com","total_price":"199.65","currency":"EUR"}"#,
            topic: "shopify.orders.create"
        )
    }
}
