import Foundation
import SenderKit

/// Twilio webhooks: a phone number's messaging and voice URLs, and status callbacks.
public struct TwilioSender: SenderTooling {
    public init() {}

    public var name: String { "twilio" }

    public var summary: String {
        "Twilio webhooks (X-Twilio-Signature over the URL and the sorted form fields, or bodySHA256)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://www.twilio.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        let url = try source.requiredPublicURL(sender: name, what: "the webhook URL given to Twilio")
        return TwilioScheme(secrets: source.secrets, url: url)
    }

    /// Twilio's auth tokens are 32 hex digits.
    public func generateSecret() -> String {
        RandomText.hex(16)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                "ToCountry=US&SmsMessageSid=SM0123456789abcdef0123456789abcdef&NumMedia=0&SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=received&Body=Hello+%E2%98%95&To=%2B14155550199&NumSegments=1&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B14155550100&ApiVersion=2010-04-01",
            topic: "twilio.message.received",
            settings: [.sourcePublicURL: "{url}"]
        )
    }
}
