import Foundation
import SenderKit

/// HubSpot public and private apps' webhooks (the target URL under the app's Webhooks settings).
public struct HubSpotSender: SenderTooling {
    public init() {}

    public var name: String { "hubspot" }

    public var summary: String {
        "HubSpot app webhooks (X-HubSpot-Signature-v3 over method, URL, body and time; one record per event)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://www.hubspot.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        let url = try source.requiredPublicURL(sender: name, what: "the app's target URL")
        return HubSpotScheme(secrets: source.secrets, url: url, timestampTolerance: source.timestampTolerance)
    }

    /// HubSpot's client secrets are UUIDs.
    public func generateSecret() -> String {
        UUID().uuidString.lowercased()
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"[{"eventId":100,"subscriptionId":2001,"portalId":62515,"appId":1160452,"occurredAt":1767225600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]"#,
            topic: "hubspot.contact.creation",
            settings: [.sourcePublicURL: "{url}"]
        )
    }
}
