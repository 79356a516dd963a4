import Foundation
import SenderKit

/// Mailgun webhooks (Sending → Webhooks, per domain; the signing key under Settings → API Security).
public struct MailgunSender: SenderTooling {
    public init() {}

    public var name: String { "mailgun" }

    public var summary: String {
        "Mailgun webhooks (signature in the body over timestamp and a single-use token)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://www.mailgun.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        MailgunScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    /// Mailgun's webhook signing keys are 32 hex digits after `key-` in older accounts; any long
    /// random text works.
    public func generateSecret() -> String {
        RandomText.hex(16)
    }

    /// `webhook-relay sign` writes the `signature` object for the time it signs at.
    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":1767225600.0,"recipient":"alice@example.com","message":{"headers":{"message-id":"20260101000000.1.ABCDEF@mg.example.com","subject":"Hello"}}}}"#,
            topic: "mailgun.delivered"
        )
    }
}
