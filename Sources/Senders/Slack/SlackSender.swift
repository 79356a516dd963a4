import SenderKit

/// Slack apps' Events API (the Request URL under Event Subscriptions).
public struct SlackSender: SenderTooling {
    public init() {}

    public var name: String { "slack" }

    public var summary: String { "Slack Events API (X-Slack-Signature v0=…; answers url_verification)" }

    public var settings: [Setting] { [] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://slack.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        SlackScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    public func generateSecret() -> String {
        RandomText.hex(16)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"type":"event_callback","team_id":"T0DEMO","event_id":"Ev0DEMO001","event":{"type":"app_mention","channel":"C0DEMO","user":"U0DEMO","text":"hello"}}"#,
            topic: "slack.app_mention"
        )
    }
}
