import Foundation
import SenderKit

/// Paddle Billing notification destinations (Developer tools → Notifications).
public struct PaddleSender: SenderTooling {
    public init() {}

    public var name: String { "paddle" }

    public var summary: String {
        "Paddle Billing notifications (Paddle-Signature ts=…;h1=… over {ts}:{body}, 5 s tolerance)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(
            cloudEventSource: "https://paddle.com",
            topicTemplate: "{source}.{event}",
            timestampTolerance: PaddleScheme.defaultTolerance
        )
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        PaddleScheme(secrets: source.secrets, timestampTolerance: source.timestampTolerance)
    }

    /// Paddle's endpoint secret keys start with `pdl_ntfset_`.
    public func generateSecret() -> String {
        "pdl_ntfset_" + RandomText.hex(13) + "_" + RandomText.base64URL(length: 32)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"event_id":"evt_01hv8x2acma2gz7he3c2sc1wkq","event_type":"transaction.completed","occurred_at":"2026-01-01T00:00:00.000000Z","notification_id":"ntf_01hv8x2af7ab4rq2wzqj8zv4qe","data":{"id":"txn_01hv8wptq8987qeep44cyrewp9","status":"completed","currency_code":"USD","customer_id":"ctm_01hv6y1jedq4p1n0yqn5ba3ky4"}}"#,
            topic: "paddle.transaction.completed"
        )
    }
}
