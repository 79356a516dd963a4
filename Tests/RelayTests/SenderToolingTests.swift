import Foundation
import HTTPTypes
import Logging
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

    /// A credential the sender needs besides its secrets (as PayPal's API does): secret by the table.
    static let apiKey = Setting(
        "sources.<source>.api_key",
        "RELAY_<SOURCE>_API_KEY",
        secret: true,
        "The sender's API key."
    )

    var name: String { "verify-only" }
    var settings: [Setting] { [Self.apiKey] }
    var summary: String { "A sender that signs with a private key" }
    var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://example.com", topicTemplate: "{source}.{event}")
    }

    func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        _ = try source.text(Self.apiKey)
        return Scheme()
    }
}

/// Verification and tooling are apart: a sender without tooling is configured and served like any
/// other; only the tools that imitate senders leave it out.
@Suite("Senders without tooling")
struct SenderToolingTests {
    @Test("A verify-only sender needs only what verification needs; the common event-type rule is the default")
    func verifyOnlySenderIsASender() throws {
        let sender = VerifyOnlySender()
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

    @Test(
        "A sender's own setting marked secret in its table is redacted from the start-up log, with no code of its own"
    )
    func senderSecretSettingIsRedacted() throws {
        let configuration = try RelayConfiguration.load(
            environment: [
                "RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
                "RELAY_VERIFY_ONLY_SCHEME": "verify-only",
                "RELAY_VERIFY_ONLY_SECRETS": "a-secret-of-32-bytes-0123456789ab",
                "RELAY_VERIFY_ONLY_API_KEY": "api-key-that-must-not-leak",
            ],
            senders: SenderRegistry([VerifyOnlySender()])
        )
        let logged = configuration.redactedMetadata
        #expect(logged["config.sources.verify-only.api_key"] == "<redacted>")
        #expect(logged["config.sources.verify-only.scheme"] == "verify-only")
        #expect(!logged.values.contains { "\($0)".contains("api-key-that-must-not-leak") })
    }

    @Test("webhook-relay dev makes sources for the senders with tooling and leaves the others out")
    func devLeavesVerifyOnlySendersOut() async throws {
        let registry = SenderRegistry([VerifyOnlySender(), GitHubSender()])
        let dev = try await DevEnvironment(httpPort: 0, environment: [:], senders: registry)
        #expect(dev.certificateHost == nil, "no sender names a certificate: no local host")
        #expect(dev.secrets.map(\.source) == ["github"])
        #expect(dev.configuration.sources.map(\.name) == ["github"])
        let instructions = dev.instructions(port: dev.httpPort, executable: "webhook-relay")
        #expect(instructions.contains("sign --source github"))
        #expect(!instructions.contains("verify-only"))
    }

    @Test("sign stamps a time the sender signs inside the body (Linear's webhookTimestamp), so a saved sample is fresh")
    func signStampsTheBody() throws {
        let scheme = LinearScheme(secrets: ["lin_wh_secret"])
        let file = #"{"type":"Issue","action":"create","data":{"id":"i1"},"webhookTimestamp": 1000}"#
        let delivery = OutgoingDelivery(body: Array(file.utf8), deliveryID: "d1", timestamp: 1_767_225_600)
        let request = try SignedRequest(
            delivery,
            bodySource: .file(path: "/tmp/x.json"),
            signer: scheme,
            targetURL: "http://r"
        )
        let stamped = #"{"type":"Issue","action":"create","data":{"id":"i1"},"webhookTimestamp": 1767225600000}"#
        #expect(request.body == Array(stamped.utf8))
        let curl = request.rendered(as: .curl)
        #expect(curl.contains("--data-binary '\(stamped)'"), "the stamped body is sent, not the file")
        var headers = HTTPFields()
        for (name, value) in request.headers { headers[HTTPField.Name(name)!] = value }
        let verified = try scheme.verify(
            WebhookRequest(headers: headers, body: request.body),
            now: Date(timeIntervalSince1970: 1_767_225_630)
        )
        #expect(verified.signedAt == 1_767_225_600)
        // A sender that signs no time in the body keeps the file.
        let github = try SignedRequest(
            OutgoingDelivery(body: Array(file.utf8), eventType: "push", timestamp: 1),
            bodySource: .file(path: "/tmp/x.json"),
            signer: GitHubScheme(secrets: ["s"]),
            targetURL: "http://r"
        )
        #expect(github.rendered(as: .curl).contains("@'/tmp/x.json'"))
    }
}
