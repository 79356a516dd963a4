import Foundation
import RelayTestSupport
import RelayTools
import SenderKit
import Senders
import Testing

@testable import Relay

/// A sender the relay can verify but not imitate (it signs with a private key only it holds): a
/// plain `Sender` whose scheme is no `WebhookSigner`.
struct VerifyOnlySender: Sender {
    struct Scheme: WebhookScheme {
        func verify(
            _ request: WebhookRequest,
            now: Date,
            fields: BodyFields
        ) throws(WebhookRejection) -> VerifiedWebhook {
            throw .missingSignature(header: "x-verify-only-signature")
        }

        func describe(eventType: String) -> EventDescriptor {
            EventDescriptor(
                eventType: eventType,
                family: eventType,
                action: "",
                topicName: eventType,
                cloudEventType: "com.example.\(eventType)",
                keyField: nil,
                isKnown: false
            )
        }

        var signedParts: SignedParts { .all }
        var loggedHeaders: LoggedHeaders { LoggedHeaders() }
    }

    var name: String { "verify-only" }
    var summary: String { "A sender that signs with a private key" }
    var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://example.com", topicTemplate: "{source}.{event}")
    }

    func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        Scheme()
    }
}

/// Verification and tooling are apart: a sender without tooling is configured and served like any
/// other; only the tools that imitate senders leave it out.
@Suite("Senders without tooling")
struct SenderToolingTests {
    @Test("A verify-only sender needs only what verification needs; the common event-type rule is the default")
    func verifyOnlySenderIsASender() throws {
        let sender = VerifyOnlySender()
        #expect(sender.settings.isEmpty)
        #expect(sender.eventTypeProblem("orders/create") == nil)
        #expect(sender.eventTypeProblem("no spaces") == EventName.rule)
        let registry = SenderRegistry([sender, GitHubSender()])
        let configuration = try RelayConfiguration.load(
            environment: [
                "RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
                "RELAY_VERIFY_ONLY_SCHEME": "verify-only",
                "RELAY_VERIFY_ONLY_SECRETS": "a-secret-of-32-bytes-0123456789ab",
            ],
            senders: registry
        )
        #expect(configuration.sources.map(\.name) == ["verify-only"])
        #expect(!(configuration.sources[0].scheme is any WebhookSigner))
    }

    @Test("webhook-relay dev makes sources for the senders with tooling and leaves the others out")
    func devLeavesVerifyOnlySendersOut() throws {
        let registry = SenderRegistry([VerifyOnlySender(), GitHubSender()])
        let dev = try DevEnvironment(httpPort: 0, environment: [:], senders: registry)
        #expect(dev.secrets.map(\.source) == ["github"])
        #expect(dev.configuration.sources.map(\.name) == ["github"])
        let instructions = dev.instructions(port: dev.httpPort, executable: "webhook-relay")
        #expect(instructions.contains("sign --source github"))
        #expect(!instructions.contains("verify-only"))
    }
}
