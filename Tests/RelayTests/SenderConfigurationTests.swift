import Foundation
import HTTPTypes
import Relay
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// How sources of every sender are configured: `sources.NAME` with `scheme:`, the `RELAY_<NAME>_*`
/// variables, per-sender validation at start and per-sender defaults.
@Suite("Configuring the senders")
struct SenderConfigurationTests {
    let kafka = ["RELAY_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"]
    let swSecret = "whsec_" + Base64.encode([UInt8](repeating: 0x11, count: 32))

    func load(_ environment: [String: String], yaml: String? = nil) throws -> RelayConfiguration {
        var path: String?
        if let yaml {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "senders-\(UUID().uuidString).yaml"
            )
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            path = file.path
        }
        return try RelayConfiguration.load(environment: kafka.merging(environment) { $1 }, configPath: path)
    }

    func expectError(_ environment: [String: String], key: String, mentioning text: String) {
        do {
            _ = try load(environment)
            Issue.record("loaded a configuration that should be refused (\(key))")
        } catch let error as ConfigurationError {
            #expect(error.key == key)
            #expect(error.description.contains(text), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("A sender's variables alone make a source named after it, with the sender's defaults")
    func impliedSources() throws {
        let configuration = try load([
            "RELAY_GITHUB_SECRETS": "gh-secret-1234-5678", "RELAY_STANDARD_WEBHOOKS_SECRETS": swSecret,
            "RELAY_STRIPE_SECRETS": "whsec_stripe_1234", "RELAY_SHOPIFY_SECRETS": "shopify-secret-1234",
            "RELAY_SLACK_SECRETS": "slack-secret-1234", "RELAY_GENERIC_HMAC_SECRETS": "generic-secret-1234",
        ])
        #expect(
            Set(configuration.sources.map(\.name)) == [
                "github", "standard-webhooks", "stripe", "shopify", "slack", "generic-hmac",
            ]
        )
        let github = try #require(configuration.source(named: "github"))
        #expect(github.sender.name == "github")
        #expect(github.scheme is GitHubScheme)
        #expect(github.dedupWindow == 6 * 3600, "no signed time: hours of dedup, not minutes")
        #expect(github.topicTemplate == "{source}.{event}")
        #expect(github.cloudEventSource == "https://github.com")
        #expect(configuration.source(named: "stripe")?.dedupWindow == 300)
        let hours = RelayConfiguration.Source.untimestampedDedupWindow
        #expect(configuration.source(named: "shopify")?.dedupWindow == hours)
        #expect(configuration.source(named: "generic-hmac")?.dedupWindow == hours)
    }

    @Test(
        "A sender's own tolerance is the default (Paddle 5 s, Linear 60 s, Twitch 10 min); deliveries are remembered at least 5 minutes"
    )
    func senderTolerances() throws {
        let configuration = try load([
            "RELAY_PADDLE_SECRETS": "pdl_ntfset_1234567890abcdef", "RELAY_LINEAR_SECRETS": "lin_wh_1234567890abcdef",
            "RELAY_TWITCH_SECRETS": "twitch-secret-1234567890", "RELAY_STRIPE_SECRETS": "whsec_stripe_1234",
            "RELAY_STRIPE_TIMESTAMP_TOLERANCE": "60s", "RELAY_SQUARE_SECRETS": "square-key-1234567890",
            "RELAY_SQUARE_PUBLIC_URL": "https://hooks.example.com/webhooks/square",
        ])
        func source(_ name: String) throws -> RelayConfiguration.Source {
            try #require(configuration.source(named: name))
        }
        #expect(try source("paddle").timestampTolerance == 5 && source("paddle").dedupWindow == 300)
        #expect(try source("linear").timestampTolerance == 60 && source("linear").dedupWindow == 300)
        #expect(try source("twitch").timestampTolerance == 600 && source("twitch").dedupWindow == 600)
        #expect(try source("stripe").dedupWindow == 60, "a tolerance the operator set is the window, as before")
        #expect(try source("square").dedupWindow == RelayConfiguration.Source.untimestampedDedupWindow)
        let widened = try load([
            "RELAY_PADDLE_SECRETS": "pdl_ntfset_1234567890abcdef", "RELAY_PADDLE_TIMESTAMP_TOLERANCE": "30s",
        ])
        #expect(widened.source(named: "paddle")?.timestampTolerance == 30)
        #expect(throws: ConfigurationError.self, "Square signs no time") {
            try load([
                "RELAY_SQUARE_SECRETS": "square-key-1234567890", "RELAY_SQUARE_TIMESTAMP_TOLERANCE": "30s",
                "RELAY_SQUARE_PUBLIC_URL": "https://hooks.example.com/webhooks/square",
            ])
        }
        #expect(throws: ConfigurationError.self, "Square signs its URL") {
            try load(["RELAY_SQUARE_SECRETS": "square-key-1234567890"])
        }
    }

    @Test("RELAY_<NAME>_SCHEME makes a source of any name; several sources may share one sender")
    func namedSources() throws {
        let configuration = try load([
            "RELAY_GITHUB_SECRETS": "gh-secret-org-0001", "RELAY_ORG_TWO_SCHEME": "github",
            "RELAY_ORG_TWO_SECRETS": "gh-secret-org-0002", "RELAY_ORG_TWO_DEDUP_WINDOW": "48h",
        ])
        let two = try #require(configuration.source(named: "org-two"))
        #expect(two.sender.name == "github")
        #expect(two.secrets == ["gh-secret-org-0002"])
        #expect(two.dedupWindow == 48 * 3600)
        #expect(configuration.source(named: "github")?.secrets == ["gh-secret-org-0001"])
    }

    @Test("YAML sources name their sender with scheme:, and every RELAY_DOCUTRAY_* variable still works")
    func yamlSources() throws {
        let configuration = try load(
            ["RELAY_DOCUTRAY_SECRETS": "whsec_docutray_1", "RELAY_DOCUTRAY_VERIFY": "body"],
            yaml: """
                sources:
                  payments:
                    scheme: stripe
                    secrets: [whsec_payments_1, whsec_payments_2]
                    key: /data/object/customer
                    topics:
                      invoice.paid: billing.invoices
                  tools:
                    scheme: standard-webhooks
                    secrets: [\(swSecret)]
                    timestamp_tolerance: 120s
                  partners:
                    scheme: generic-hmac
                    secrets: [partner-secret-1]
                    signature_header: X-Partner-Signature
                    algorithm: sha512
                    encoding: base64
                    event_type: X-Partner-Event
                    delivery_id: /meta/id
                """
        )
        let payments = try #require(configuration.source(named: "payments"))
        #expect(payments.key == JSONPointer("/data/object/customer"))
        #expect(payments.topicOverrides == ["invoice.paid": "billing.invoices"])
        #expect(payments.secrets.count == 2)
        #expect(configuration.source(named: "tools")?.timestampTolerance == 120)
        #expect(configuration.source(named: "tools")?.dedupWindow == 120)
        let partners = try #require(configuration.source(named: "partners")?.scheme as? GenericHMACScheme)
        #expect(partners.options.algorithm == .sha512)
        #expect(partners.options.eventType == .header(.init("x-partner-event")!))
        #expect(partners.options.deliveryID == .body("/meta/id"))
        #expect((configuration.source(named: "docutray")?.scheme as? DocutrayScheme)?.policy == .body)
        // Under `body` nothing signs the time: dedup is the only replay defence, so its window is the
        // untimed senders' hours, not the tolerance.
        #expect(
            configuration.source(named: "docutray")?.dedupWindow == RelayConfiguration.Source.untimestampedDedupWindow
        )
    }

    @Test(
        "Wrong sender settings stop the start, naming the key and never the secret",
        arguments: [
            (
                ["RELAY_STANDARD_WEBHOOKS_SECRETS": "whsec_test_9f8e7d6c5b4a"], "sources.standard-webhooks.secrets",
                "base64"
            ),
            (["RELAY_STRIPE_SECRETS": "sk_test_not_a_signing_secret"], "sources.stripe.secrets", "whsec_"),
            (
                ["RELAY_GITHUB_SECRETS": "gh-secret-1234-5678", "RELAY_GITHUB_TIMESTAMP_TOLERANCE": "60s"],
                "sources.github.timestamp_tolerance", "no signed timestamp"
            ),
            (
                ["RELAY_HOOKS_SCHEME": "bitbucket", "RELAY_HOOKS_SECRETS": "secret-1234-5678"], "sources.hooks.scheme",
                "docutray, standard-webhooks, github, stripe, shopify, slack, generic-hmac"
            ),
            (
                ["RELAY_GITHUB_SECRETS": "gh-secret-1234-5678", "RELAY_GITHUB_KEY": "repository.full_name"],
                "sources.github.key", "JSON pointer"
            ),
            (
                ["RELAY_GITHUB_SECRETS": "gh-secret-1234-5678", "RELAY_GITHUB_TOPICS": "PUSH EVENT=x"],
                "sources.github.topics", "event.action"
            ),
            (
                ["RELAY_GENERIC_HMAC_SECRETS": "generic-secret-1234", "RELAY_GENERIC_HMAC_ALGORITHM": "md5"],
                "sources.generic-hmac.algorithm", "sha1, sha256, sha512"
            ),
            (
                [
                    "RELAY_GENERIC_HMAC_SECRETS": "generic-secret-1234",
                    "RELAY_GENERIC_HMAC_DELIVERY_ID": "not a header",
                ],
                "sources.generic-hmac.delivery_id", "JSON pointer"
            ),
        ]
    )
    func validation(environment: [String: String], key: String, text: String) {
        expectError(environment, key: key, mentioning: text)
        do {
            _ = try load(environment)
        } catch {
            for secret in environment.filter({ $0.key.hasSuffix("_SECRETS") }).values {
                #expect(!"\(error)".contains(secret), "the secret is never shown")
            }
        }
    }

    @Test("The start-up log shows each source's sender and settings, never a secret")
    func redaction() throws {
        let configuration = try load([
            "RELAY_PARTNERS_SCHEME": "generic-hmac", "RELAY_PARTNERS_SECRETS": "partner-secret-1",
            "RELAY_PARTNERS_TIMESTAMP_HEADER": "X-Time",
        ])
        let text = configuration.redactedMetadata.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        #expect(text.contains("config.sources.partners.scheme=generic-hmac"), "derived from the variables")
        #expect(text.contains("config.sources.partners.timestamp_header=X-Time"), "a sender's own setting")
        #expect(text.contains("config.sources.partners.algorithm=sha256"), "a sender's default")
        #expect(text.contains("config.sources.partners.dedup_window=300s"), "derived from the tolerance")
        #expect(text.contains("config.sources.partners.secrets=<1 redacted>"), "secret by the settings table")
        #expect(!text.contains("partner-secret-1"))
    }
}
