import SenderKit

/// GitHub repository, organisation and app webhooks.
public struct GitHubSender: SenderTooling {
    public init() {}

    public var name: String { "github" }

    public var summary: String { "GitHub (X-Hub-Signature-256; no timestamp, dedup on X-GitHub-Delivery)" }

    public var settings: [Setting] { [] }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://github.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        GitHubScheme(secrets: source.secrets)
    }

    public func eventTypeProblem(_ eventType: String) -> String? {
        let parts = eventType.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count <= 2 && parts.allSatisfy({ GitHubScheme.isName(String($0)) })
            ? nil : "must be an event, or event.action, e.g. push or pull_request.opened"
    }

    public func generateSecret() -> String {
        RandomText.hex(20)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: "pull_request",
            body:
                #"{"action":"opened","number":7,"pull_request":{"id":1,"title":"Demo"},"repository":{"full_name":"octo/demo"}}"#,
            topic: "github.pull_request.opened"
        )
    }
}
