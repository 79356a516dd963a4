import Foundation
import SenderKit

/// Zoom apps' event subscriptions (the event notification endpoint URL).
public struct ZoomSender: SenderTooling {
    public init() {}

    public var name: String { "zoom" }

    public var summary: String {
        "Zoom webhooks (x-zm-signature v0=…; answers endpoint.url_validation)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://zoom.us", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        ZoomScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    /// Zoom's secret tokens are 22 characters of base64url.
    public func generateSecret() -> String {
        RandomText.base64URL(length: 22)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"event":"meeting.started","event_ts":1767225600000,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","object":{"id":"85743902736","uuid":"4444AAAiAAAAAiAiAiiAii==","topic":"Demo"}}}"#,
            topic: "zoom.meeting.started"
        )
    }
}
