import Foundation
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import Senders
import Testing

/// New secrets and sources without a restart: a running relay reads its configuration again when a
/// secret file or the configuration file changes, or on SIGHUP.
@Suite("Reload without a restart", .serialized, .timeLimit(.minutes(2)))
struct ReloadTests {
    static let old = "whsec_reload_old_secret_0123456789abcdef"
    static let new = "whsec_reload_new_secret_0123456789abcdef"

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Waits until the relay has logged `message` `count` times.
    static func waitForLog(_ relay: RelayProcess, _ message: String, count: Int) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while relay.process.standardError.components(separatedBy: message).count - 1 < count {
            guard ContinuousClock.now < deadline else {
                throw HTTPTestClient.Failure(description: "'\(message)' not logged \(count) times")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func metrics(_ relay: RelayProcess) async throws -> String {
        try await HTTPTestClient.send(
            port: relay.adminPort,
            method: "GET",
            path: "/metrics",
            headers: [("authorization", "Bearer \(RelayProcess.adminToken)")]
        ).bodyText
    }

    @Test(
        "Under steady load the secret file gains a new secret, then loses the old one: no listed secret is ever refused"
    )
    func rotateSecretsUnderLoad() async throws {
        let cluster = try MockKafkaCluster()
        let directory = TestRelay.temporaryDirectory(prefix: "relay-reload")
        let secrets = directory + "/docutray-secrets"
        try Self.write(Self.old + "\n", to: secrets)
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: directory + "/buffer",
            extra: ["RELAY_DOCUTRAY_SECRETS_FILE": secrets],
            removing: ["RELAY_DOCUTRAY_SECRETS"]
        )
        defer { relay.process.signal(SIGKILL) }

        // Which secrets the sender signs with: the old; both, in turn, once both are listed; the new.
        let phase = Locked(0)
        let tally = Locked((sent: 0, failed: [String]()))
        let stop = Locked(false)
        let load = Task {
            var number = 0
            while !stop.withLock({ $0 }), number < 5000 {
                number += 1
                let current = phase.withLock { $0 }
                let secret = current == 0 || (current == 1 && number % 2 == 0) ? Self.old : Self.new
                let id = "req_reload_\(number)"
                let outcome: String?
                do {
                    let answer = try await relay.post(id, document: id, secret: secret)
                    outcome = answer.status == 202 ? nil : "HTTP \(answer.status)"
                } catch {
                    outcome = "\(error)"
                }
                tally.withLock { tally in
                    tally.sent += 1
                    if let outcome { tally.failed.append("\(id) phase \(current): \(outcome)") }
                }
            }
        }
        /// Lets the load send `count` more deliveries (however slow the machine is).
        func send(_ count: Int) async throws {
            let target = tally.withLock { $0.sent } + count
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while tally.withLock({ $0.sent }) < target, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await send(10)
        try Self.write(Self.old + "\n" + Self.new + "\n", to: secrets)
        try await Self.waitForLog(relay, "Configuration reloaded", count: 1)
        phase.withLock { $0 = 1 }
        try await send(10)
        // The sender switches to the new secret before the old one is removed, as a rollout does.
        phase.withLock { $0 = 2 }
        try await send(2)
        try Self.write(Self.new + "\n", to: secrets)
        try await Self.waitForLog(relay, "Configuration reloaded", count: 2)
        try await send(10)
        stop.withLock { $0 = true }
        await load.value

        let (sent, failed) = tally.withLock { $0 }
        #expect(failed.isEmpty, "refused although signed with a listed secret: \(failed.prefix(5))")
        #expect(sent >= 32, "\(sent) deliveries during the rotation")
        #expect(try await relay.post("req_reload_old_after", document: "x", secret: Self.old).status == 401)
        #expect(try await relay.post("req_reload_new_after", document: "x", secret: Self.new).status == 202)
        let log = relay.process.standardError
        #expect(log.components(separatedBy: "Configuration reloaded").count - 1 == 2, "each reload logged once")
        #expect(log.contains("reload.sources_changed=docutray"))
        #expect(!log.contains(Self.new) && !log.contains(Self.old), "no secret in the log")
        #expect(try await Self.metrics(relay).contains(#"relay_config_reloads_total{outcome="applied"} 2"#))
    }

    @Test(
        "A setting that needs a restart, or an invalid file, is refused whole and the relay serves on; a source added to the file is served; SIGHUP reloads"
    )
    func refusedAndFailedReloads() async throws {
        let cluster = try MockKafkaCluster()
        let directory = TestRelay.temporaryDirectory(prefix: "relay-reload-refused")
        let config = directory + "/relay.yaml"
        let original = "retry:\n  max_in_flight: 100\n"
        try Self.write(original, to: config)
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: directory + "/buffer",
            extra: ["RELAY_CONFIG": config]
        )
        defer { relay.process.signal(SIGKILL) }

        try Self.write("retry:\n  max_in_flight: 200\n", to: config)
        try await Self.waitForLog(relay, "Configuration reload refused", count: 1)
        #expect(relay.process.standardError.contains("reload.restart_only=retry.max_in_flight"))
        #expect(try await relay.post("req_refused_reload", document: "x").status == 202)

        try Self.write("retry:\n  max_in_flight: lots\n", to: config)
        try await Self.waitForLog(relay, "Configuration reload failed", count: 1)
        #expect(relay.process.standardError.contains("retry.max_in_flight"))
        #expect(try await relay.post("req_failed_reload", document: "x").status == 202)

        // A second source, added to the file: the file watch picks it up.
        #expect(try await Self.postSecond(relay).status == 404, "not served before the reload")
        try Self.write(
            original + """
                sources:
                  second:
                    scheme: docutray
                    secrets: [\(Self.new)]
                    webhook_url: \(SignatureVector.webhookURL)
                """,
            to: config
        )
        try await Self.waitForLog(relay, "Configuration reloaded", count: 1)
        #expect(relay.process.standardError.contains("reload.sources_added=second"))
        #expect(try await Self.postSecond(relay).status == 202)
        #expect(try await relay.post("req_first_still", document: "x").status == 202)

        // SIGHUP reads everything again even when no file changed.
        relay.process.signal(SIGHUP)
        try await Self.waitForLog(relay, "Configuration reloaded", count: 2)
        #expect(relay.process.standardError.contains("reload.trigger=SIGHUP"))
        #expect(
            try await Self.postSecond(relay).status == 200,
            "the same delivery again: a duplicate, the source's memory kept"
        )

        let metrics = try await Self.metrics(relay)
        #expect(metrics.contains(#"relay_config_reloads_total{outcome="refused"} 1"#))
        #expect(metrics.contains(#"relay_config_reloads_total{outcome="failed"} 1"#))
        #expect(metrics.contains(#"relay_config_reloads_total{outcome="applied"} 2"#))
    }

    /// A delivery to `/webhooks/second`, signed with the second source's secret.
    static func postSecond(_ relay: RelayProcess) async throws -> TestResponse {
        var factory = DeliveryFactory()
        factory.timestamp = Int64(Date().timeIntervalSince1970)
        factory.signer = DocutraySigner(secret: Self.new, webhookURL: SignatureVector.webhookURL)
        let body = Array(#"{"conversion_id":"second","request":"req_second"}"#.utf8)
        return try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/second",
            headers: factory.headers(body: body, event: "CONVERSION_COMPLETED", deliveryID: "req_second"),
            body: body
        )
    }
}
