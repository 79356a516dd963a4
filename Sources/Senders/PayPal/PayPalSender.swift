import Foundation
import SenderCertificates
import SenderKit

/// PayPal REST apps' webhooks (Developer Dashboard → Apps & Credentials → the app → Webhooks).
public struct PayPalSender: CertificateSenderTooling {
    public init() {}

    public var name: String { "paypal" }

    public var summary: String {
        "PayPal webhooks (SHA256withRSA over transmission id, time, webhook id and the body's CRC-32; certificate from PAYPAL-CERT-URL)"
    }

    /// The webhook's id, part of what PayPal signs.
    public static let webhookID = Setting(
        "sources.<source>.webhook_id",
        "RELAY_<SOURCE>_WEBHOOK_ID",
        "paypal: the Webhook ID the dashboard shows for this URL (required; PayPal signs it, so deliveries meant for another webhook are refused)."
    )

    /// PayPal's certificate hosts (live and sandbox) and the names on its certificates.
    public static let certificateURLs = [
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api-m.paypal.com/v1/notifications/certs/",
        "https://api.sandbox.paypal.com/v1/notifications/certs/",
        "https://api-m.sandbox.paypal.com/v1/notifications/certs/",
    ]
    public static let certificateSubjects = [
        "messageverificationcerts.paypal.com", "messageverificationcerts.sandbox.paypal.com",
    ]

    public var usesSecrets: Bool { false }

    public var certificateSubject: String { Self.certificateSubjects[0] }

    public var certificatePrefix: String { "/v1/notifications/certs/" }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"id":"WH-2WR32451HC0233532-67976317FL4543714","event_version":"1.0","create_time":"2026-01-01T00:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed for EUR 12.50","resource":{"id":"42311647XV020574X","status":"COMPLETED","amount":{"currency_code":"EUR","value":"12.50"}}}"#,
            topic: "paypal.PAYMENT.CAPTURE.COMPLETED",
            settings: [Self.webhookID: "1JE4291016473214C"]
        )
    }

    public var settings: [Setting] { [Self.webhookID] + Setting.certificateSettings }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://www.paypal.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        guard let webhookID = try source.text(Self.webhookID), !webhookID.isEmpty else {
            throw ConfigurationError(
                Self.webhookID.forSource(source.name),
                "is required: the Webhook ID PayPal shows for this listener URL"
            )
        }
        guard webhookID.utf8.count <= 64, !webhookID.contains("|") else {
            throw ConfigurationError(Self.webhookID.forSource(source.name), "is not a PayPal webhook id")
        }
        let fetcher = try source.signingCertificateFetcher(
            defaultURLs: Self.certificateURLs,
            subjects: Self.certificateSubjects
        )
        return PayPalScheme(webhookID: webhookID, fetcher: fetcher, timestampTolerance: source.timestampTolerance)
    }
}
