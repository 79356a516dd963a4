import SenderKit

/// Standard Webhooks (standardwebhooks.com) and Svix: many SaaS senders sign this way.
public struct StandardWebhooksSender: SenderTooling {
    public init() {}

    public var name: String { "standard-webhooks" }

    public var summary: String { "Standard Webhooks and Svix (webhook-signature / svix-signature)" }

    public var settings: [Setting] { [] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "urn:standard-webhooks", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        var secrets: [StandardWebhooksSecret] = []
        for (index, text) in source.secrets.enumerated() {
            guard let secret = StandardWebhooksSecret(text) else {
                throw ConfigurationError(
                    source.secretsSetting,
                    "secret \(index + 1) \(StandardWebhooksSecret.rule) (it is not; secrets are never shown)"
                )
            }
            secrets.append(secret)
        }
        return StandardWebhooksScheme(secrets: secrets, timestampTolerance: source.timestampTolerance)
    }

    public func generateSecret() -> String {
        "whsec_" + Base64.encode(RandomText.bytes(32))
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{"id":"in_demo_1","amount_due":4200}}"#,
            topic: "standard-webhooks.invoice.paid"
        )
    }
}
