import Foundation
import SenderKit

/// Square webhook subscriptions (Developer Console → the application → Webhooks → Subscriptions).
public struct SquareSender: SenderTooling {
    public init() {}

    public var name: String { "square" }

    public var summary: String {
        "Square webhooks (x-square-hmacsha256-signature over the notification URL and body)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://squareup.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        let url = try source.requiredPublicURL(sender: name, what: "the subscription's notification URL")
        return SquareScheme(secrets: source.secrets, url: url)
    }

    /// Square's signature keys are 22 characters of base64url.
    public func generateSecret() -> String {
        RandomText.base64URL(length: 22)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"merchant_id":"6SSW7HV8K2ST5","type":"payment.created","event_id":"13b867cf-db3d-4b1c-90b6-2f32a9d78124","created_at":"2026-01-01T00:00:00.000Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","object":{"payment":{"id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","amount_money":{"amount":100,"currency":"USD"},"status":"APPROVED"}}}}"#,
            topic: "square.payment.created",
            settings: [.sourcePublicURL: "{url}"]
        )
    }
}
