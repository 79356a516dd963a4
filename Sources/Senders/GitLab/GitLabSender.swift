import Foundation
import SenderKit

/// GitLab project, group and system hooks (Settings → Webhooks).
public struct GitLabSender: SenderTooling {
    public init() {}

    public var name: String { "gitlab" }

    public var summary: String {
        "GitLab webhooks (X-Gitlab-Token: the secret token itself, no signature)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://gitlab.com", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        GitLabScheme(secrets: source.secrets)
    }

    /// A token as long and random as a signing key: it is the whole of GitLab's authentication.
    public func generateSecret() -> String {
        "glwt-" + RandomText.base64URL(length: 43)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: "Merge Request Hook",
            body:
                #"{"object_kind":"merge_request","event_type":"merge_request","user":{"id":1,"username":"root"},"project":{"id":15,"path_with_namespace":"acme/relay"},"object_attributes":{"id":99,"iid":1,"title":"Relay the webhooks","state":"opened","action":"open"}}"#,
            topic: "gitlab.merge_request.open"
        )
    }
}
