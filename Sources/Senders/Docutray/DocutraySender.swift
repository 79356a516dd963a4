import Foundation
import SenderKit

/// Docutray: HMAC-SHA256 over the body and over `request_id|timestamp|webhook_url|event`, with a
/// signed Unix timestamp (see ``DocutrayScheme``).
public struct DocutraySender: SenderTooling {
    public init() {}

    public var name: String { "docutray" }

    public var summary: String { "Docutray (x-docutray-signature and x-docutray-auth-signature)" }

    /// The public URL registered in Docutray.
    public static let webhookURL = Setting(
        "sources.<source>.webhook_url",
        "RELAY_<SOURCE>_WEBHOOK_URL",
        "docutray: the relay's public URL as registered in Docutray (required unless verify is body; defaults to public_url)."
    )
    /// Which of the two signatures must pass.
    public static let verify = Setting(
        "sources.<source>.verify",
        "RELAY_<SOURCE>_VERIFY",
        default: "both",
        "docutray: signatures required: body, auth or both."
    )

    public var settings: [Setting] { [Self.webhookURL, Self.verify] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://app.docutray.com", topicTemplate: "{source}.{family}.{action}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        let policy = try source.choice(Self.verify, DocutrayScheme.Policy.self)
        let urlSetting = Self.webhookURL.forSource(source.name)
        let webhookURL = try source.text(Self.webhookURL) ?? source.publicURL
        if let webhookURL, URL(string: webhookURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw ConfigurationError(urlSetting, "must be an absolute http(s) URL")
        }
        if policy != .body, webhookURL == nil {
            throw ConfigurationError(
                urlSetting,
                "is required when verify is '\(policy.rawValue)' (it is part of the auth signature; or set public_url)"
            )
        }
        return DocutrayScheme(
            secrets: source.secrets,
            webhookURL: webhookURL ?? "",
            policy: policy,
            timestampTolerance: source.timestampTolerance
        )
    }

    public func eventTypeProblem(_ eventType: String) -> String? {
        DocutrayEventType.isValid(eventType) ? nil : DocutrayEventType.rule
    }

    public func generateSecret() -> String {
        "whsec_dev_" + RandomText.hex(12)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: "CONVERSION_COMPLETED",
            body: #"{"conversion_id":"clm_demo_001","status":"SUCCESS","data":{"invoiceNumber":"INV-1"}}"#,
            topic: "docutray.conversion.completed",
            settings: [Self.webhookURL: "{url}"]
        )
    }
}
