import Foundation
import Relay
import Testing

@Suite("Configuration from YAML and environment")
struct ConfigurationTests {
    let minimal = [
        "RELAY_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "RELAY_DOCUTRAY_SECRETS": "whsec_one_12345,whsec_two_12345",
        "RELAY_DOCUTRAY_WEBHOOK_URL": "https://relay.example.com/webhooks/docutray",
    ]

    func writeTemporary(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func expectError(_ environment: [String: String], configPath: String? = nil, key: String, mentioning text: String) {
        do {
            _ = try RelayConfiguration.load(environment: environment, configPath: configPath)
            Issue.record("loaded a configuration that should be refused (\(key))")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(text), "\(error)")
        }
    }

    @Test("The environment alone configures the Docutray source, with documented defaults")
    func environmentOnly() throws {
        let configuration = try RelayConfiguration.load(environment: minimal)
        #expect(configuration.http.host == "0.0.0.0")
        #expect(configuration.http.port == 8080)
        #expect(configuration.http.maxBodySize == 5 * 1024 * 1024)
        #expect(configuration.kafka.bootstrapServers == "kafka:9092")
        #expect(configuration.kafka.publishTimeout == .seconds(2))
        let source = try #require(configuration.source(named: "docutray"))
        #expect(source.secrets == ["whsec_one_12345", "whsec_two_12345"])
        #expect(source.verify == .both)
        #expect(source.timestampTolerance == 300)
        #expect(source.replayWindow == 300)
        #expect(source.topicTemplate == "{source}.{family}.{action}")
        #expect(source.contentMode == .binary)
        #expect(source.cloudEventSource == "https://app.docutray.com")
    }

    @Test("Environment variables override the YAML file")
    func layering() throws {
        let path = try writeTemporary(
            """
            http:
              port: 9000
              max_body_size: 1MiB
            kafka:
              bootstrap_servers: file-kafka:9092
              publish_timeout: 1500ms
              properties:
                compression.type: lz4
                linger.ms: 5
            sources:
              docutray:
                secrets: [whsec_file_12345]
                webhook_url: https://file.example.com/webhooks/docutray
                verify: auth
                timestamp_tolerance: 2m
                replay_window: 1h
                topics:
                  STEP_FAILED: alerts.steps
                content_mode: structured
            """
        )
        var environment = minimal
        environment["RELAY_HTTP_PORT"] = "9100"
        environment["RELAY_KAFKA_PROPERTY_LINGER_MS"] = "20"
        let configuration = try RelayConfiguration.load(environment: environment, configPath: path)
        #expect(configuration.http.port == 9100)
        #expect(configuration.http.maxBodySize == 1 << 20)
        #expect(configuration.kafka.bootstrapServers == "kafka:9092")
        #expect(configuration.kafka.publishTimeout == .milliseconds(1500))
        #expect(configuration.kafka.properties == ["compression.type": "lz4", "linger.ms": "20"])
        let source = try #require(configuration.source(named: "docutray"))
        #expect(source.secrets == ["whsec_one_12345", "whsec_two_12345"])
        #expect(source.webhookURL == "https://relay.example.com/webhooks/docutray")
        #expect(source.verify == .auth)
        #expect(source.timestampTolerance == 120)
        #expect(source.replayWindow == 3600)
        #expect(source.topicOverrides == ["STEP_FAILED": "alerts.steps"])
        #expect(source.contentMode == .structured)
    }

    @Test("RELAY_CONFIG names the file when --config is not given")
    func configVariable() throws {
        let path = try writeTemporary("http:\n  port: 9200\n")
        var environment = minimal
        environment["RELAY_CONFIG"] = path
        #expect(try RelayConfiguration.load(environment: environment).http.port == 9200)
    }

    @Test("Secrets can come from a file (Kubernetes secret mounts)")
    func secretsFile() throws {
        let path = try writeTemporary("whsec_mounted_1\nwhsec_mounted_2\n")
        var environment = minimal
        environment["RELAY_DOCUTRAY_SECRETS"] = nil
        environment["RELAY_DOCUTRAY_SECRETS_FILE"] = path
        let source = try #require(try RelayConfiguration.load(environment: environment).source(named: "docutray"))
        #expect(source.secrets == ["whsec_mounted_1", "whsec_mounted_2"])
    }

    @Test("Each invalid value is refused with its key and variable named, never quoting a secret")
    func errors() throws {
        var environment = minimal
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = nil
        expectError(environment, key: "kafka.bootstrap_servers", mentioning: "RELAY_KAFKA_BOOTSTRAP_SERVERS")

        expectError(minimal.merging(["RELAY_HTTP_PORT": "80800"]) { $1 }, key: "http.port", mentioning: "80800")
        expectError(
            minimal.merging(["RELAY_HTTP_PORT": "http"]) { $1 },
            key: "http.port",
            mentioning: "RELAY_HTTP_PORT"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_PUBLISH_TIMEOUT": "2 parsecs"]) { $1 },
            key: "kafka.publish_timeout",
            mentioning: "duration"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_PUBLISH_TIMEOUT": "60s"]) { $1 },
            key: "kafka.publish_timeout",
            mentioning: "between"
        )
        expectError(
            minimal.merging(["RELAY_HTTP_MAX_BODY_SIZE": "5 lots"]) { $1 },
            key: "http.max_body_size",
            mentioning: "size"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_VERIFY": "none"]) { $1 },
            key: "sources.docutray.verify",
            mentioning: "body, auth, both"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_WEBHOOK_URL": "relay.example.com"]) { $1 },
            key: "sources.docutray.webhook_url",
            mentioning: "absolute"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_SECRETS": "short"]) { $1 },
            key: "sources.docutray.secrets",
            mentioning: "8 characters"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_REPLAY_WINDOW": "10s"]) { $1 },
            key: "sources.docutray.replay_window",
            mentioning: "tolerance"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_TOPIC_TEMPLATE": "{source}.{kind}"]) { $1 },
            key: "sources.docutray.topic_template",
            mentioning: "{kind}"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_TOPICS": "step_failed=x"]) { $1 },
            key: "sources.docutray.topics",
            mentioning: "event type"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_PROPERTY_ACKS": "1"]) { $1 },
            key: "kafka.properties.acks",
            mentioning: "all"
        )
        expectError(
            minimal.merging(["RELAY_LOG_LEVEL": "loud"]) { $1 },
            key: "logging.level",
            mentioning: "RELAY_LOG_LEVEL"
        )
        expectError(
            minimal.merging(["RELAY_CONFIG": "/nonexistent/relay.yaml"]) { $1 },
            key: "",
            mentioning: "RELAY_CONFIG"
        )

        var noURL = minimal
        noURL["RELAY_DOCUTRAY_WEBHOOK_URL"] = nil
        expectError(noURL, key: "sources.docutray.webhook_url", mentioning: "required")
        noURL["RELAY_DOCUTRAY_VERIFY"] = "body"
        #expect(throws: Never.self) { try RelayConfiguration.load(environment: noURL) }

        expectError(
            ["RELAY_KAFKA_BOOTSTRAP_SERVERS": "k:9092"],
            key: "sources.docutray.secrets",
            mentioning: "no webhook source"
        )

        do {
            _ = try RelayConfiguration.load(environment: minimal.merging(["RELAY_DOCUTRAY_SECRETS": "tiny"]) { $1 })
        } catch {
            #expect(!error.description.contains("tiny"))
        }
    }

    @Test("Misspelt or misplaced YAML keys are reported, not ignored")
    func unknownKeys() throws {
        let path = try writeTemporary("kafka:\n  publish_timout: 2s\n")
        expectError(minimal, configPath: path, key: "kafka.publish_timout", mentioning: "unknown setting")
        let sourceTypo = try writeTemporary("sources:\n  docutray:\n    secret: whsec_typo_12345\n")
        expectError(minimal, configPath: sourceTypo, key: "sources.docutray.secret", mentioning: "unknown setting")
        let list = try writeTemporary("http:\n  port: [1, 2]\n")
        expectError(minimal, configPath: list, key: "http.port", mentioning: "single value")
        let broken = try writeTemporary("http: [\n")
        expectError(minimal, configPath: broken, key: "", mentioning: "not valid YAML")
    }

    @Test("Durations and sizes parse in the documented forms")
    func formats() throws {
        for (text, expected) in [
            ("250ms", Duration.milliseconds(250)), ("2s", .seconds(2)), ("5m", .seconds(300)), ("3", .seconds(3)),
        ] {
            let configuration = try RelayConfiguration.load(
                environment: minimal.merging(["RELAY_KAFKA_FLUSH_TIMEOUT": text]) { $1 }
            )
            #expect(configuration.kafka.flushTimeout == expected, "\(text)")
        }
        let window = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_DOCUTRAY_REPLAY_WINDOW": "1h30m"]) { $1 }
        )
        #expect(window.source(named: "docutray")?.replayWindow == 5400)
        for (text, expected) in [("64KiB", 65536), ("10MB", 10_000_000), ("2048", 2048), ("1GiB", 1 << 30)] {
            let configuration = try RelayConfiguration.load(
                environment: minimal.merging(["RELAY_HTTP_MAX_BODY_SIZE": text]) { $1 }
            )
            #expect(configuration.http.maxBodySize == expected, "\(text)")
        }
    }
}
