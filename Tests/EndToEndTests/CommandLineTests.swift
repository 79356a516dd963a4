import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The `webhook-relay` binary as a user runs it.
@Suite("Command line", .serialized, .timeLimit(.minutes(3)))
struct CommandLineTests {
    let executable = RelayExecutable.path
    let baseEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }

    @Test("--version and --help")
    func versionAndHelp() async throws {
        let version = try await ChildProcess.run(executable, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == RelayVersion.current)
        let help = try await ChildProcess.run(executable, ["--help"])
        #expect(help.status == 0)
        for subcommand in ["serve", "dev", "sign"] { #expect(help.stdout.contains(subcommand)) }
    }

    @Test("serve refuses a missing or invalid setting, naming the key, with a non-zero status")
    func invalidConfiguration() async throws {
        var environment = baseEnvironment
        environment["RELAY_DOCUTRAY_SECRETS"] = "whsec_cli_test_1234"
        environment["RELAY_DOCUTRAY_WEBHOOK_URL"] = "https://relay.example.com/webhooks/docutray"
        let missing = try await ChildProcess.run(executable, ["serve"], environment: environment)
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("kafka.bootstrap_servers (RELAY_KAFKA_BOOTSTRAP_SERVERS)"))

        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9"
        environment["RELAY_DOCUTRAY_VERIFY"] = "sometimes"
        let invalid = try await ChildProcess.run(executable, ["serve"], environment: environment)
        #expect(invalid.status == 78)
        #expect(invalid.stderr.contains("sources.docutray.verify (RELAY_DOCUTRAY_VERIFY)"))
        #expect(!invalid.stderr.contains("whsec_cli_test_1234"))
    }

    @Test("config check validates without starting and prints the configuration with secrets redacted")
    func configCheck() async throws {
        var environment = baseEnvironment
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = "kafka:9092"
        environment["RELAY_DOCUTRAY_SECRETS"] = "whsec_config_check_1"
        environment["RELAY_DOCUTRAY_WEBHOOK_URL"] = "https://relay.example.com/webhooks/docutray"
        let valid = try await ChildProcess.run(executable, ["config", "check"], environment: environment)
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stdout.contains("The configuration is valid."))
        #expect(valid.stdout.contains("  sources.docutray.secrets: <1 redacted>"))
        #expect(valid.stdout.contains("  sources.docutray.webhook_url: https://relay.example.com/webhooks/docutray"))
        #expect(!valid.stdout.contains("whsec_config_check_1"))
        environment["RELAY_HTTP_PORT"] = "eighty"
        let invalid = try await ChildProcess.run(executable, ["config", "check"], environment: environment)
        #expect(invalid.status == 78)
        #expect(invalid.stderr.contains("http.port (RELAY_HTTP_PORT)"))
        let reference = try await ChildProcess.run(executable, ["config", "reference"], environment: environment)
        for setting in Setting.all { #expect(reference.stdout.contains(setting.environment)) }
        for sender in TestSenders.registry.senders {
            #expect(reference.stdout.contains("scheme: \(sender.name)"))
            for setting in sender.settings { #expect(reference.stdout.contains(setting.key)) }
        }
    }

    @Test("sign --source prints, for every sender, a curl command a running relay accepts")
    func signEverySender() async throws {
        let environment = baseEnvironment.merging(SenderEndToEndTests.environment) { $1 }
        try await withTestRelay(
            environment: SenderEndToEndTests.environment,
            clock: ManualWallClock(unixSeconds: SenderEndToEndTests.now)
        ) { relay in
            for testCase in SenderEndToEndTests.cases {
                let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "sign-\(UUID().uuidString).json"
                )
                try Data(testCase.body.utf8).write(to: file)
                var arguments = [
                    "sign", "--source", testCase.source, "--target",
                    "http://127.0.0.1:\(relay.port)/webhooks/\(testCase.source)",
                ]
                if let event = testCase.eventType { arguments += ["--event", event] }
                if let id = testCase.deliveryID { arguments += ["--request-id", id] }
                // The relay's clock stands still at the cases' time; sign at that time too.
                arguments += ["--timestamp", String(SenderEndToEndTests.now), file.path]
                let sign = try await ChildProcess.run(executable, arguments, environment: environment)
                #expect(sign.status == 0, "\(testCase.source): \(sign.stderr)")
                let sent = try await ChildProcess.run(
                    "/bin/sh",
                    [],
                    environment: baseEnvironment,
                    stdin: Array(sign.stdout.utf8)
                )
                #expect(
                    sent.stdout.contains(#""status":"published""#),
                    "\(testCase.source): \(sent.stdout) \(sent.stderr)"
                )
                #expect(sent.stdout.contains(#""id":"\#(testCase.expectedID)""#), "\(sent.stdout)")
            }
        }
        let missingEvent = try await ChildProcess.run(
            executable,
            ["sign", "--source", "github", "-"],
            environment: environment,
            stdin: Array("{}".utf8)
        )
        #expect(missingEvent.status != 0)
        #expect(missingEvent.stderr.contains("--event"))
        // With no configuration at all, --source and --secret are enough.
        let bare = try await ChildProcess.run(
            executable,
            [
                "sign", "--source", "github", "--secret", "gh-flag-secret-1", "--event", "push", "--format", "headers",
                "-",
            ],
            environment: baseEnvironment,
            stdin: Array(#"{"ref":"refs/heads/main"}"#.utf8)
        )
        #expect(bare.status == 0, "\(bare.stderr)")
        let expected = HMACSignature.sign(
            Array(#"{"ref":"refs/heads/main"}"#.utf8),
            key: SigningKey(secret: "gh-flag-secret-1")
        )
        #expect(bare.stdout.contains("x-hub-signature-256: \(expected)"), "\(bare.stdout)")
    }

    @Test("probe exits 0 for a ready relay and 1 when nothing answers")
    func probe() async throws {
        try await withTestRelay { relay in
            let ready = try await ChildProcess.run(
                executable,
                ["probe", "--port", String(relay.port)],
                environment: baseEnvironment
            )
            #expect(ready.status == 0, "\(ready.stderr)")
            #expect(ready.stdout.contains(#""ready":true"#))
            let health = try await ChildProcess.run(
                executable,
                ["probe", "--check", "healthz", "--port", String(relay.adminPort)],
                environment: baseEnvironment
            )
            #expect(health.status == 0)
        }
        let nothing = try await ChildProcess.run(executable, ["probe", "--port", "1"], environment: baseEnvironment)
        #expect(nothing.status == 1)
    }

    @Test("sign --format headers reproduces every known-answer vector")
    func signHeaders() async throws {
        for vector in try SignatureVector.all() {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(vector.deliveryID).json")
            try Data(vector.bodyBytes).write(to: file)
            let result = try await ChildProcess.run(
                executable,
                [
                    "sign", "--event", vector.event, "--request-id", vector.deliveryID, "--timestamp", vector.timestamp,
                    "--format", "headers", file.path,
                ],
                environment: baseEnvironment.merging(
                    ["RELAY_DOCUTRAY_SECRETS": vector.secret, "RELAY_DOCUTRAY_WEBHOOK_URL": vector.webhookURL]
                ) { $1 }
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Self.headers(printedBy: result.stdout) == vector.headers)
        }
    }

    /// The `name: value` lines of `sign --format headers`.
    static func headers(printedBy output: String) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: output.split(separator: "\n").map { line -> (String, String) in
                let parts = line.split(separator: ":", maxSplits: 1)
                return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
            }
        )
    }

    @Test("sign --secret-file signs with the file's secret, which never appears on the command line")
    func signWithSecretFile() async throws {
        let vector = try #require(try SignatureVector.all().first)
        let directory = FileManager.default.temporaryDirectory
        let body = directory.appendingPathComponent("sign-file-\(UUID().uuidString).json")
        try Data(vector.bodyBytes).write(to: body)
        let secretFile = directory.appendingPathComponent("sign-secret-\(UUID().uuidString)")
        try Data((vector.secret + "\n").utf8).write(to: secretFile)
        let arguments = [
            "sign", "--event", vector.event, "--request-id", vector.deliveryID, "--timestamp", vector.timestamp,
            "--format", "headers", "--secret-file", secretFile.path, body.path,
        ]
        // A configured secret is replaced by the file's.
        let result = try await ChildProcess.run(
            executable,
            arguments,
            environment: baseEnvironment.merging(
                [
                    "RELAY_DOCUTRAY_SECRETS": "whsec_some_other_secret_entirely",
                    "RELAY_DOCUTRAY_WEBHOOK_URL": vector.webhookURL,
                ]
            ) { $1 }
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.headers(printedBy: result.stdout) == vector.headers)
        #expect(!arguments.contains(vector.secret))
        let both = try await ChildProcess.run(
            executable,
            arguments + ["--secret", vector.secret],
            environment: baseEnvironment.merging(["RELAY_DOCUTRAY_WEBHOOK_URL": vector.webhookURL]) { $1 }
        )
        #expect(both.status != 0)
    }

    @Test("The curl command printed by sign is accepted by a running relay")
    func signCurlIsAccepted() async throws {
        let vector = try #require(try SignatureVector.all().last)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sign-curl-\(UUID().uuidString).json")
        try Data(vector.bodyBytes).write(to: file)
        try await withTestRelay { relay in
            let sign = try await ChildProcess.run(
                executable,
                [
                    "sign", "--event", vector.event, "--timestamp", vector.timestamp,
                    "--target", "http://127.0.0.1:\(relay.port)/webhooks/docutray", file.path,
                ],
                environment: baseEnvironment.merging(
                    ["RELAY_DOCUTRAY_SECRETS": vector.secret, "RELAY_DOCUTRAY_WEBHOOK_URL": vector.webhookURL]
                ) { $1 }
            )
            #expect(sign.status == 0, "\(sign.stderr)")
            let sent = try await ChildProcess.run(
                "/bin/sh",
                [],
                environment: baseEnvironment,
                stdin: Array(sign.stdout.utf8)
            )
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(sent.stdout.contains(#""status":"published""#), "\(sent.stdout)")
            let message = try #require(
                try await relay.consumer().waitForMessages(topic: "docutray.conversion.completed", count: 1).first
            )
            #expect(message.value == vector.bodyBytes)
        }
    }

    @Test("dev runs an embedded broker and its printed walkthrough works as written")
    func devWalkthrough() async throws {
        let dev = try ChildProcess(executable, ["dev", "--http-port", "0"], environment: baseEnvironment)
        defer { if dev.isRunning { dev.signal(SIGKILL) } }
        try await dev.waitForOutput(containing: "Press Ctrl-C")
        let output = dev.standardOutput
        var exports: [String: String] = [:]
        for line in output.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("export ") {
            let assignment = line.trimmingCharacters(in: .whitespaces).dropFirst("export ".count)
            let parts = assignment.split(separator: "=", maxSplits: 1)
            exports[String(parts[0])] = String(parts[1])
        }
        let bootstrap = try #require(exports["RELAY_KAFKA_BOOTSTRAP_SERVERS"])
        #expect(exports["RELAY_DOCUTRAY_SECRETS"]?.hasPrefix("whsec_dev_") == true)
        #expect(output.contains("kcat -b \(bootstrap) -C -t docutray.conversion.completed"))

        let body = Array(#"{"conversion_id":"clm_demo_001","status":"SUCCESS"}"#.utf8)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dev-\(UUID().uuidString).json")
        try Data(body).write(to: file)
        let sign = try await ChildProcess.run(
            executable,
            ["sign", "--event", "CONVERSION_COMPLETED", file.path],
            environment: baseEnvironment.merging(exports) { $1 }
        )
        #expect(sign.status == 0, "\(sign.stderr)")
        let sent = try await ChildProcess.run(
            "/bin/sh",
            [],
            environment: baseEnvironment,
            stdin: Array(sign.stdout.utf8)
        )
        #expect(sent.stdout.contains(#""status":"published""#), "\(sent.stdout) \(sent.stderr)")

        let messages = try await KafkaConsumer(bootstrapServers: bootstrap).waitForMessages(
            topic: "docutray.conversion.completed",
            count: 1
        )
        #expect(messages.first?.value == body)
        #expect(messages.first?.keyString == "clm_demo_001")

        // Every sender's try-it line, pasted as printed into a shell with the exports.
        let tries = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.contains(" sign --source ") && $0.hasSuffix(")") == false }
        // Every sender has a dev source; Amazon SNS's and PayPal's fetch their certificate from dev's
        // local HTTPS host.
        #expect(tries.count == TestSenders.registry.senders.count, "\(output)")
        for line in tries {
            let topic = try #require(line.components(separatedBy: "# → ").last)
            let sent = try await ChildProcess.run(
                "/bin/sh",
                ["-c", line],
                environment: baseEnvironment.merging(exports) { $1 }
            )
            if ["[accepted]", #"{"type":5}"#].contains(sent.stdout) {
                // Adyen's and Discord's required answers say nothing of the topic: read it there.
                let landed = try await KafkaConsumer(bootstrapServers: bootstrap).waitForMessages(
                    topic: topic,
                    count: 1
                )
                #expect(landed.count == 1, "\(line)")
                continue
            }
            #expect(sent.stdout.contains(#""status":"published""#), "\(line): \(sent.stdout) \(sent.stderr)")
            #expect(sent.stdout.contains(#""topic":"\#(topic)""#), "\(line): \(sent.stdout)")
        }

        // dev gives the admin API a token, printed with the exports; the printed buffer command uses it.
        let token = try #require(exports["RELAY_ADMIN_TOKEN"])
        #expect(token.utf8.count >= 16 && output.contains("token: \(token)"))
        let status = try await ChildProcess.run(
            executable,
            ["buffer", "status", "--json"],
            environment: baseEnvironment.merging(exports) { $1 }
        )
        #expect(status.status == 0, "\(status.stderr)")
        var withoutToken = exports
        withoutToken["RELAY_ADMIN_TOKEN"] = nil
        let refused = try await ChildProcess.run(
            executable,
            ["buffer", "status", "--json"],
            environment: baseEnvironment.merging(withoutToken) { $1 }
        )
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("set RELAY_ADMIN_TOKEN"), "\(refused.stderr)")

        dev.signal(SIGTERM)
        #expect(await dev.waitForExit(timeout: .seconds(30)) == 0)
    }
}
