import Foundation
import SenderKit

/// Linear webhooks (Settings → API → Webhooks, or an OAuth app's webhook).
public struct LinearSender: SenderTooling {
    public init() {}

    public var name: String { "linear" }

    public var summary: String {
        "Linear webhooks (Linear-Signature over the body; webhookTimestamp within 60 s)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(
            cloudEventSource: "https://linear.app",
            topicTemplate: "{source}.{event}",
            timestampTolerance: LinearScheme.defaultTolerance
        )
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        LinearScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    /// Linear's signing secrets start with `lin_wh_`.
    public func generateSecret() -> String {
        "lin_wh_" + RandomText.base64URL(length: 40)
    }

    /// `webhook-relay sign` sets the body's `webhookTimestamp` to the time it signs at.
    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"action":"create","type":"Issue","createdAt":"2026-01-01T00:00:00.000Z","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","identifier":"ENG-42","title":"Relay the webhooks"},"url":"https://linear.app/acme/issue/ENG-42","organizationId":"8f0d6a5e-4a1c-4f0e-9d7a-2c1b3a4d5e6f","webhookTimestamp":1767225600000,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}"#,
            topic: "linear.Issue.create"
        )
    }
}
