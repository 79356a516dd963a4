import Foundation
import SenderKit

/// Twitch EventSub subscriptions with the `webhook` transport (the callback URL and secret are
/// given when the subscription is created through the Helix API).
public struct TwitchSender: SenderTooling {
    public init() {}

    public var name: String { "twitch" }

    public var summary: String {
        "Twitch EventSub webhooks (sha256= over message id, time and body; answers the challenge)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(
            cloudEventSource: "https://www.twitch.tv",
            topicTemplate: "{source}.{event}",
            timestampTolerance: TwitchScheme.defaultTolerance
        )
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        TwitchScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    /// Twitch takes secrets of 10 to 100 ASCII characters, chosen by the app.
    public func generateSecret() -> String {
        RandomText.hex(20)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled","type":"channel.follow","version":"2","cost":0,"condition":{"broadcaster_user_id":"12826","moderator_user_id":"12826"},"transport":{"method":"webhook","callback":"https://hooks.example.com/webhooks/twitch"},"created_at":"2026-01-01T00:00:00.000000000Z"},"event":{"user_id":"1337","user_login":"awesome_user","user_name":"Awesome_User","broadcaster_user_id":"12826","broadcaster_user_login":"twitch","broadcaster_user_name":"Twitch","followed_at":"2026-01-01T00:00:00.000000000Z"}}"#,
            topic: "twitch.channel.follow"
        )
    }
}
