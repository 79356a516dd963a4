import Foundation
import Logging
import Relay
import RelayKafka
import RelayTestSupport
import RelayTools
import SenderKit
import Senders
import Testing

@Suite("Configuration from YAML and environment")
struct ConfigurationTests {
    let minimal = [
        "RELAY_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "RELAY_DOCUTRAY_SECRETS": "whsec_one_1234567,whsec_two_1234567",
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

    @Test(
        "Every number, size and duration setting is bounded by the table: its default loads, past its bound is refused"
    )
    func rangesComeFromTheTable() throws {
        let bounded = Setting.all.filter { setting in
            switch setting.kind {
            case .integer, .byteSize, .duration: true
            case .text, .boolean: false
            }
        }
        #expect(bounded.count >= 20)
        _ = try RelayConfiguration.load(environment: minimal)  // every default within its bounds
        for setting in bounded {
            let setting = setting.forSource("docutray")
            let (beyond, named): (String, String)
            switch setting.kind {
            case .integer(let range):
                (beyond, named) = (String(range.upperBound + 1), "in \(range.lowerBound)...\(range.upperBound)")
            case .byteSize(let range):
                (beyond, named) = (String(range.upperBound + 1), "and \(range.upperBound) bytes")
            case .duration(let range):
                (beyond, named) = ("\(range.upperBound.components.seconds + 1)s", "must be between")
            case .text, .boolean: continue
            }
            // A bound that also depends on another setting (the burst on the rate) is checked after it.
            var environment = minimal.merging([setting.environment: beyond]) { $1 }
            if setting.key == "retry.initial_backoff" { environment["RELAY_RETRY_MAX_BACKOFF"] = "86400s" }
            expectError(environment, key: setting.key, mentioning: named)
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
        #expect(source.secrets == ["whsec_one_1234567", "whsec_two_1234567"])
        #expect((source.scheme as? DocutrayScheme)?.policy == .both)
        #expect(source.timestampTolerance == 300)
        #expect(source.dedupWindow == 300)
        #expect(source.topicTemplate == "{source}.{family}.{action}")
        #expect(source.contentMode == .binary)
        #expect(source.cloudEventSource == "https://app.docutray.com")
        #expect(source.rateLimit == 0, "no rate limit unless configured")
        #expect(configuration.http.requestTimeout == .seconds(30))
    }

    @Test("Rate limits and the request timeout are configurable; the burst defaults to the rate")
    func rateLimitSettings() throws {
        let limited = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_DOCUTRAY_RATE_LIMIT": "50", "RELAY_HTTP_REQUEST_TIMEOUT": "5s"]) { $1 }
        )
        #expect(limited.source(named: "docutray")?.rateLimit == 50)
        #expect(limited.source(named: "docutray")?.rateLimitBurst == 50)
        #expect(limited.http.requestTimeout == .seconds(5))
        let path = try writeTemporary(
            """
            sources:
              docutray:
                rate_limit: 10
                rate_limit_burst: 100
            """
        )
        let fromFile = try RelayConfiguration.load(environment: minimal, configPath: path)
        #expect(fromFile.source(named: "docutray")?.rateLimitBurst == 100)
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_RATE_LIMIT": "-5"]) { $1 },
            key: "sources.docutray.rate_limit",
            mentioning: "RELAY_DOCUTRAY_RATE_LIMIT"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_RATE_LIMIT": "10", "RELAY_DOCUTRAY_RATE_LIMIT_BURST": "0"]) { $1 },
            key: "sources.docutray.rate_limit_burst",
            mentioning: "0"
        )
        expectError(
            minimal.merging(["RELAY_HTTP_REQUEST_TIMEOUT": "0s"]) { $1 },
            key: "http.request_timeout",
            mentioning: "between"
        )
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
                dedup_window: 1h
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
        #expect(source.secrets == ["whsec_one_1234567", "whsec_two_1234567"])
        #expect((source.scheme as? DocutrayScheme)?.webhookURL == "https://relay.example.com/webhooks/docutray")
        #expect((source.scheme as? DocutrayScheme)?.policy == .auth)
        #expect(source.timestampTolerance == 120)
        #expect(source.dedupWindow == 3600)
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
        let path = try writeTemporary("whsec_mounted_0001\nwhsec_mounted_0002\n")
        var environment = minimal
        environment["RELAY_DOCUTRAY_SECRETS"] = nil
        environment["RELAY_DOCUTRAY_SECRETS_FILE"] = path
        let source = try #require(try RelayConfiguration.load(environment: environment).source(named: "docutray"))
        #expect(source.secrets == ["whsec_mounted_0001", "whsec_mounted_0002"])
    }

    @Test("kafka.aws_msk_iam: a region turns on IAM sign-in (SASL_SSL, OAUTHBEARER); what contradicts it is refused")
    func mskIAM() throws {
        let path = try writeTemporary(
            """
            kafka:
              bootstrap_servers: b-1.cluster.kafka.eu-west-1.amazonaws.com:9098
              aws_msk_iam:
                region: eu-west-1
                role_arn: arn:aws:iam::123456789012:role/kafka-writer
            """
        )
        var environment = minimal
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = nil
        let configuration = try RelayConfiguration.load(environment: environment, configPath: path)
        #expect(configuration.kafka.mskIAM?.region == "eu-west-1")
        #expect(configuration.kafka.mskIAM?.roleARN == "arn:aws:iam::123456789012:role/kafka-writer")
        #expect(configuration.kafka.properties["security.protocol"] == "SASL_SSL")
        #expect(configuration.kafka.properties["sasl.mechanism"] == "OAUTHBEARER")
        #expect(configuration.kafka.tokenProvider(environment: [:]) != nil)
        #expect(try RelayConfiguration.load(environment: minimal).kafka.tokenProvider(environment: [:]) == nil)

        let iam = minimal.merging(["RELAY_KAFKA_AWS_MSK_IAM_REGION": "eu-west-1"]) { $1 }
        expectError(
            minimal.merging(["RELAY_KAFKA_AWS_MSK_IAM_REGION": "Ireland"]) { $1 },
            key: "kafka.aws_msk_iam.region",
            mentioning: "not an AWS region"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_AWS_MSK_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/x"]) { $1 },
            key: "kafka.aws_msk_iam.role_arn",
            mentioning: "region"
        )
        expectError(
            iam.merging(["RELAY_KAFKA_AWS_MSK_IAM_ROLE_ARN": "kafka-writer"]) { $1 },
            key: "kafka.aws_msk_iam.role_arn",
            mentioning: "not an IAM role ARN"
        )
        expectError(
            iam.merging(["RELAY_KAFKA_PROPERTY_SASL_MECHANISM": "SCRAM-SHA-512"]) { $1 },
            key: "kafka.properties.sasl.mechanism",
            mentioning: "OAUTHBEARER"
        )
        expectError(
            iam.merging(["RELAY_KAFKA_PROPERTY_SECURITY_PROTOCOL": "SSL"]) { $1 },
            key: "kafka.properties.security.protocol",
            mentioning: "SASL_SSL"
        )
    }

    @Test(
        "Tracing is off by default, on with OpenTelemetry's endpoint variables or tracing.endpoint, off with OTEL_SDK_DISABLED"
    )
    func tracing() throws {
        #expect(try RelayConfiguration.load(environment: minimal).tracing == nil)
        let general = try RelayConfiguration.load(
            environment: minimal.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]) { $1 }
        )
        #expect(general.tracing?.endpoint == "http://collector:4318/v1/traces")
        #expect(general.tracing?.serviceName == "webhook-relay")
        #expect(general.tracing?.sampler == .parentBasedAlwaysOn)
        #expect(general.tracing?.maximumQueueSize == 2048)
        #expect(general.tracing?.exportInterval == .seconds(5))
        #expect(general.tracing?.exportTimeout == .seconds(10))
        let traces = minimal.merging([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example/otlp/traces",
            "OTEL_SERVICE_NAME": "relay-eu",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        ]) { $1 }
        let specific = try RelayConfiguration.load(environment: traces)
        #expect(specific.tracing?.endpoint == "https://collector.example/otlp/traces", "the signal's own URL, as is")
        #expect(specific.tracing?.serviceName == "relay-eu")
        #expect(specific.tracing?.sampler == .parentBasedTraceIDRatio(0.25))
        #expect(specific.tracing?.maximumQueueSize == 100)
        let disabled = traces.merging(["OTEL_SDK_DISABLED": "true"]) { $1 }
        #expect(try RelayConfiguration.load(environment: disabled).tracing == nil)

        let path = try writeTemporary(
            """
            tracing:
              endpoint: http://127.0.0.1:4318/v1/traces
              sampler: always_off
              export_interval: 250ms
            """
        )
        let file = try RelayConfiguration.load(environment: minimal, configPath: path)
        #expect(file.tracing?.endpoint == "http://127.0.0.1:4318/v1/traces")
        #expect(file.tracing?.sampler == .alwaysOff)
        #expect(file.tracing?.exportInterval == .milliseconds(250))

        let on = minimal.merging(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"]) { $1 }
        expectError(
            minimal.merging(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"]) { $1 },
            key: "tracing.endpoint",
            mentioning: "not an http or https URL"
        )
        expectError(
            on.merging(["OTEL_TRACES_SAMPLER": "jaeger_remote"]) { $1 },
            key: "tracing.sampler",
            mentioning: "parentbased_always_on"
        )
        expectError(
            on.merging(["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"]) { $1 },
            key: "tracing.sampler_arg",
            mentioning: "ratio from 0 to 1"
        )
        expectError(
            on.merging(["OTEL_SDK_DISABLED": "maybe"]) { $1 },
            key: "tracing.disabled",
            mentioning: "true or false"
        )
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
            mentioning: "secret 1 is shorter than 16 bytes"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_DEDUP_WINDOW": "10s"]) { $1 },
            key: "sources.docutray.dedup_window",
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
            minimal.merging(["RELAY_KAFKA_PROPERTY_TRANSACTIONAL_ID": "relay-1"]) { $1 },
            key: "kafka.properties.transactional.id",
            mentioning: "Erroneous state"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_PROPERTY_SASL_MECHANISM": "AWS_MSK_IAM"]) { $1 },
            key: "kafka.properties.sasl.mechanism",
            mentioning: "SCRAM-SHA-512"
        )
        // OIDC token fetching needs librdkafka's oidc feature (libcurl): the loaded library decides.
        let oidc = minimal.merging([
            "RELAY_KAFKA_PROPERTY_SASL_MECHANISM": "OAUTHBEARER",
            "RELAY_KAFKA_PROPERTY_SASL_OAUTHBEARER_METHOD": "oidc",
        ]) { $1 }
        if Librdkafka.builtinFeatures.contains("oidc") {
            #expect(throws: Never.self) { try RelayConfiguration.load(environment: oidc) }
        } else {
            expectError(oidc, key: "kafka.properties.sasl.oauthbearer.method", mentioning: "libcurl")
        }
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

    @Test("Operations settings: TLS, topics, shutdown, admin token, buffer and retry bounds")
    func operationsErrors() throws {
        let certificate = try writeTemporary("-----BEGIN CERTIFICATE-----\n")
        expectError(
            minimal.merging(["RELAY_HTTP_TLS_CERTIFICATE": certificate]) { $1 },
            key: "http.tls_key",
            mentioning: "both"
        )
        expectError(
            minimal.merging(["RELAY_HTTP_TLS_KEY": "/nonexistent/key.pem"]) { $1 },
            key: "http.tls_key",
            mentioning: "cannot read"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_CREATE_TOPICS": "maybe"]) { $1 },
            key: "kafka.create_topics",
            mentioning: "true or false"
        )
        expectError(
            minimal.merging(["RELAY_KAFKA_TOPIC_PARTITIONS": "0"]) { $1 },
            key: "kafka.topic_partitions",
            mentioning: "1...10000"
        )
        expectError(
            minimal.merging(["RELAY_SHUTDOWN_TIMEOUT": "forever"]) { $1 },
            key: "shutdown.timeout",
            mentioning: "duration"
        )
        expectError(
            minimal.merging(["RELAY_ADMIN_TOKEN": "short"]) { $1 },
            key: "admin.token",
            mentioning: "16 characters"
        )
        expectError(minimal.merging(["RELAY_ADMIN_HOST": "0.0.0.0"]) { $1 }, key: "admin.token", mentioning: "loopback")
        expectError(
            minimal.merging(["RELAY_BUFFER_MAX_SIZE": "2MiB", "RELAY_BUFFER_SEGMENT_SIZE": "4MiB"]) { $1 },
            key: "buffer.segment_size",
            mentioning: "max_size"
        )
        expectError(
            minimal.merging(["RELAY_BUFFER_MAX_SIZE": "1KiB"]) { $1 },
            key: "buffer.max_size",
            mentioning: "between"
        )
        expectError(
            minimal.merging(["RELAY_RETRY_INITIAL_BACKOFF": "10s", "RELAY_RETRY_MAX_BACKOFF": "1s"]) { $1 },
            key: "retry.max_backoff",
            mentioning: "initial"
        )
        expectError(
            minimal.merging(["RELAY_RETRY_MAX_IN_FLIGHT": "0"]) { $1 },
            key: "retry.max_in_flight",
            mentioning: "whole number"
        )
        expectError(
            minimal.merging(["RELAY_ARCHIVE_RETENTION": "a while"]) { $1 },
            key: "archive.retention",
            mentioning: "duration"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_DEAD_LETTER_TOPIC": "dead letters"]) { $1 },
            key: "sources.docutray.dead_letter_topic",
            mentioning: "letters"
        )
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_SECRETS_FILE": "/nonexistent/secrets"]) { $1 },
            key: "sources.docutray.secrets_file",
            mentioning: "cannot read"
        )
    }

    @Test("Signing secrets under 16 bytes and documentation placeholders stop the start; under 32 bytes, a warning")
    func secretStrength() throws {
        // 15 bytes: refused, naming its position, never the secret.
        expectError(
            minimal.merging(["RELAY_DOCUTRAY_SECRETS": "whsec_long_enough_secret_1,fifteen-bytes-x"]) { $1 },
            key: "sources.docutray.secrets",
            mentioning: "secret 2 is shorter than 16 bytes"
        )
        for placeholder in [
            "whsec_replace_me_with_the_docutray_secret", "REPLACE-ME-with-something-long", "changeme-changeme",
        ] {
            expectError(
                minimal.merging(["RELAY_DOCUTRAY_SECRETS": placeholder]) { $1 },
                key: "sources.docutray.secrets",
                mentioning: "placeholder"
            )
        }
        expectError(
            minimal.merging(["RELAY_ADMIN_TOKEN": "replace-me-with-a-long-random-token"]) { $1 },
            key: "admin.token",
            mentioning: "placeholder"
        )
        // The values shipped in deploy/kubernetes/secret.yaml are all refused.
        let shipped = try String(
            contentsOf: Repository.root.appendingPathComponent("deploy/kubernetes/secret.yaml"),
            encoding: .utf8
        )
        let values = shipped.components(separatedBy: "stringData:\n")[1].split(separator: "\n")
            .map { String($0.split(separator: ": ", maxSplits: 1)[1]) }
        #expect(values.count == 2)
        for value in values {
            expectError(
                minimal.merging(["RELAY_DOCUTRAY_SECRETS": value]) { $1 },
                key: "sources.docutray.secrets",
                mentioning: "placeholder"
            )
            if value.utf8.count >= 16 {
                expectError(
                    minimal.merging(["RELAY_ADMIN_TOKEN": value]) { $1 },
                    key: "admin.token",
                    mentioning: "placeholder"
                )
            }
        }
        let short = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_DOCUTRAY_SECRETS": "sixteen-bytes-ok"]) { $1 }
        )
        #expect(
            short.warnings == [
                "sources.docutray.secrets: secret 1 is shorter than 32 bytes; prefer a longer one where the sender lets you choose"
            ]
        )
        let long = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_DOCUTRAY_SECRETS": String(repeating: "k", count: 32)]) { $1 }
        )
        #expect(long.warnings.isEmpty)
    }

    @Test("A YAML syntax error names the line and column, never the text there (it may hold a secret)")
    func yamlErrorsHideTheLine() throws {
        let secret = "whsec_never_print_me_0123456789"
        let broken = [
            "sources:\n  docutray:\n    secrets: [\(secret)\n    verify: both\n",
            "sources:\n  docutray:\n    secrets: \"\(secret)\n",
            "sources:\n  docutray:\n\tsecrets: \(secret)\n",
            "sources:\n  docutray:\n    secrets: \(secret)\n    secrets: \(secret)\n",
        ]
        for yaml in broken {
            let path = try writeTemporary(yaml)
            do {
                _ = try RelayConfiguration.load(environment: minimal, configPath: path)
                Issue.record("loaded broken YAML")
            } catch {
                #expect(error.description.contains("line "), "\(error)")
                #expect(error.description.contains("column "), "\(error)")
                #expect(!error.description.contains("never_print"), "\(error)")
            }
        }
    }

    @Test("Loopback is decided by parsing the address: a name that starts with 127. needs a token")
    func adminLoopbackParsed() throws {
        for host in ["127.evil.example", "127.0.0.1.nip.io", "1.2.3.4", "::", "0.0.0.0", "localhost.example"] {
            expectError(minimal.merging(["RELAY_ADMIN_HOST": host]) { $1 }, key: "admin.token", mentioning: "loopback")
        }
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost"] {
            let configuration = try RelayConfiguration.load(
                environment: minimal.merging(["RELAY_ADMIN_HOST": host]) { $1 }
            )
            #expect(configuration.admin.host == host && configuration.admin.token == nil)
        }
        let listed = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_ADMIN_ALLOWED_HOSTS": "relay.internal, admin.example"]) { $1 }
        )
        #expect(listed.admin.allowedHosts == ["relay.internal", "admin.example"])
    }

    @Test("Secrets from files: admin token and librdkafka properties (…_FILE)")
    func secretFiles() throws {
        let token = try writeTemporary("admin-token-from-a-file\n")
        let password = try writeTemporary("sasl-password-from-a-file\n")
        let configuration = try RelayConfiguration.load(
            environment: minimal.merging([
                "RELAY_ADMIN_TOKEN_FILE": token, "RELAY_KAFKA_PROPERTY_SASL_PASSWORD_FILE": password,
            ]) { $1 }
        )
        #expect(configuration.admin.token == "admin-token-from-a-file")
        #expect(configuration.kafka.properties["sasl.password"] == "sasl-password-from-a-file")
        do {
            _ = try RelayConfiguration.load(
                environment: minimal.merging(["RELAY_KAFKA_PROPERTY_SASL_PASSWORD_FILE": "/nonexistent/p"]) { $1 }
            )
            Issue.record("an unreadable secret file was accepted")
        } catch {
            #expect(error.environment == "RELAY_KAFKA_PROPERTY_SASL_PASSWORD_FILE")
        }
    }

    @Test("The effective configuration, as logged, redacts every secret")
    func redaction() throws {
        let environment = minimal.merging([
            "RELAY_ADMIN_TOKEN": "admin-token-0123456789",
            "RELAY_KAFKA_PROPERTY_SASL_PASSWORD": "sasl-secret-value",
            "RELAY_KAFKA_PROPERTY_SSL_KEY_PASSWORD": "ssl-key-secret",
            "RELAY_KAFKA_PROPERTY_COMPRESSION_TYPE": "lz4",
            "RELAY_KAFKA_PROPERTY_SASL_OAUTHBEARER_CONFIG": "principal=relay clientSecret=oauth-client-secret-9",
            "RELAY_KAFKA_PROPERTY_SASL_OAUTHBEARER_JWKS_ENDPOINT_URL":
                "https://idp-user:idp-pass-7@idp.example.com/oauth2/keys?client_secret=query-secret-8",
            "RELAY_DOCUTRAY_WEBHOOK_URL": "https://hooks.example.com/webhooks/docutray?auth=url-secret-6",
        ]) { $1 }
        let metadata = try RelayConfiguration.load(environment: environment).redactedMetadata
        let text = metadata.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        for secret in [
            "whsec_one_1234567", "whsec_two_1234567", "admin-token-0123456789", "sasl-secret-value", "ssl-key-secret",
            "oauth-client-secret-9", "idp-pass-7", "query-secret-8", "url-secret-6",
        ] {
            #expect(!text.contains(secret), "\(secret) is not redacted")
        }
        #expect(text.contains("compression.type=lz4"))
        #expect(text.contains("https://<redacted>@idp.example.com/oauth2/keys?<redacted>"))
        #expect(text.contains("webhook_url=https://hooks.example.com/webhooks/docutray?<redacted>"))
        #expect(text.contains("secrets=<2 redacted>"))
        #expect(text.contains("kafka:9092"))
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
            environment: minimal.merging(["RELAY_DOCUTRAY_DEDUP_WINDOW": "1h30m"]) { $1 }
        )
        #expect(window.source(named: "docutray")?.dedupWindow == 5400)
        #expect(window.warnings.allSatisfy { !$0.contains("deprecated") })
        // The former name still works, with a deprecation warning; the new name wins when both are set.
        let former = try RelayConfiguration.load(
            environment: minimal.merging(["RELAY_DOCUTRAY_REPLAY_WINDOW": "2h"]) { $1 }
        )
        #expect(former.source(named: "docutray")?.dedupWindow == 7200)
        #expect(
            former.warnings.contains(
                "sources.docutray.replay_window is deprecated: call it sources.docutray.dedup_window"
            )
        )
        let both = try RelayConfiguration.load(
            environment: minimal.merging([
                "RELAY_DOCUTRAY_REPLAY_WINDOW": "2h", "RELAY_DOCUTRAY_DEDUP_WINDOW": "3h",
            ]) { $1 }
        )
        #expect(both.source(named: "docutray")?.dedupWindow == 10_800)
        for (text, expected) in [("64KiB", 65536), ("10MB", 10_000_000), ("2048", 2048), ("1GiB", 1 << 30)] {
            let configuration = try RelayConfiguration.load(
                environment: minimal.merging(["RELAY_HTTP_MAX_BODY_SIZE": text]) { $1 }
            )
            #expect(configuration.http.maxBodySize == expected, "\(text)")
        }
    }
}

/// The buffer commands find the running relay's admin API as the relay configures it.
@Suite("Buffer tool settings")
struct BufferToolSettingsTests {
    static let quiet = Logger(label: "test.buffer-tool") { _ in SwiftLogNoOpLogHandler() }

    @Test("The admin token file wins over the token, as in the relay; the YAML file is read too")
    func tokenPrecedenceMatchesTheRelay() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token").path
        try "token-from-the-file-0123456789\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let tool = try BufferTool(
            path: nil,
            environment: [
                "RELAY_ADMIN_TOKEN": "token-from-the-variable-012345", "RELAY_ADMIN_TOKEN_FILE": tokenFile,
                "RELAY_ADMIN_HOST": "0.0.0.0", "RELAY_ADMIN_PORT": "9191",
            ],
            logger: Self.quiet
        )
        #expect(tool.target == .adminAPI(host: "127.0.0.1", port: 9191, token: "token-from-the-file-0123456789"))
        let yaml = directory.appendingPathComponent("relay.yaml").path
        try "admin:\n  port: 9292\n  token: token-from-the-yaml-file-0123\n".write(
            toFile: yaml,
            atomically: true,
            encoding: .utf8
        )
        let configured = try BufferTool(path: nil, environment: [:], configPath: yaml, logger: Self.quiet)
        #expect(configured.target == .adminAPI(host: "127.0.0.1", port: 9292, token: "token-from-the-yaml-file-0123"))
        #expect(throws: ConfigurationError.self) {
            try BufferTool(path: nil, environment: ["RELAY_ADMIN_TOKEN": "short"], logger: Self.quiet)
        }
    }
}
