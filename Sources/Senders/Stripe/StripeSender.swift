import SenderKit

/// Stripe webhook endpoints (Dashboard or `stripe listen`).
public struct StripeSender: SenderTooling {
    public init() {}

    public var name: String { "stripe" }

    public var summary: String { "Stripe (Stripe-Signature t=…,v1=…; type and id in the body)" }

    public var settings: [Setting] { [] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://stripe.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        for (index, secret) in source.secrets.enumerated() where !secret.hasPrefix("whsec_") {
            throw ConfigurationError(
                source.secretsSetting,
                "secret \(index + 1) does not start with whsec_: paste the endpoint's whole signing secret"
            )
        }
        return StripeScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    public func generateSecret() -> String {
        "whsec_" + RandomText.hex(32)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"id":"evt_demo_001","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_demo_001","amount":2000}}}"#,
            topic: "stripe.payment_intent.succeeded"
        )
    }
}
