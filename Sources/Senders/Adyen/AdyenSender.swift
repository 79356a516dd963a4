import Foundation
import SenderKit

/// Adyen standard webhooks (Customer Area → Developers → Webhooks → Standard webhook).
public struct AdyenSender: SenderTooling {
    public init() {}

    public var name: String { "adyen" }

    public var summary: String {
        "Adyen standard webhooks (an HMAC per notification item; one record per item; answers [accepted])"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://www.adyen.com", topicTemplate: "{source}.{event}")
    }

    /// Adyen's HMAC keys are hex (64 digits); the key is the bytes they spell.
    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        var keys: [[UInt8]] = []
        for (index, secret) in source.secrets.enumerated() {
            guard secret.utf8.count.isMultiple(of: 2), let key = Hex.decode(secret), !key.isEmpty else {
                throw ConfigurationError(
                    source.secretsSetting,
                    "secret \(index + 1) is not hex: paste the webhook's HMAC key as Adyen shows it"
                )
            }
            keys.append(key)
        }
        return AdyenScheme(keys: keys)
    }

    public func generateSecret() -> String {
        RandomText.hex(32).uppercased()
    }

    /// `webhook-relay sign` computes each item's `hmacSignature`.
    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"to-be-signed"},"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2026-01-01T00:00:00+01:00","merchantAccountCode":"AcmeECOM","merchantReference":"order-1001","originalReference":"","paymentMethod":"visa","pspReference":"QFQTPCQ8HXSKGK82","reason":"","success":"true"}}]}"#,
            topic: "adyen.authorisation"
        )
    }
}
