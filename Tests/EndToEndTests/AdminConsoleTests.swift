import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import Testing

/// The admin console in a real browser: Debian's chromium, driven by selenium from
/// `Tests/Console/console_test.py`, against a relay on the mock cluster. Screenshots of each page
/// go to `.build/console-screenshots/`.
@Suite("Admin console in a browser", .serialized, .timeLimit(.minutes(4)))
struct AdminConsoleTests {
    static let token = AdminAPITests.token
    static let repository = Repository.root
    static let script = repository.appendingPathComponent("Tests/Console/console_test.py").path
    static let screenshots = repository.appendingPathComponent(".build/console-screenshots").path

    /// Runs one phase of the browser script and returns what it saw.
    static func browse(_ phase: String, relay: TestRelay, expected: [String: Any]) async throws -> [String: Any] {
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: expected), as: UTF8.self)
        let run = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", script, phase, "http://127.0.0.1:\(relay.adminPort)", token, screenshots, arguments],
            environment: ProcessInfo.processInfo.environment,
            timeout: .seconds(120)
        )
        let seen = try #require(
            run.stdout.split(separator: "\n").last.flatMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            },
            "no report from the browser: \(run.stdout) \(run.stderr.suffix(3000))"
        )
        #expect(run.status == 0, "\(phase): \(seen["failed"] ?? run.stderr.suffix(2000))")
        return seen
    }

    @Test("Sign in, overview, events and one event's body, pending and dead records, a replay, signing out")
    func consoleInABrowser() async throws {
        try await withTestRelay(environment: AdminAPITests.fastRetries) { relay in
            let factory = DeliveryFactory()
            func post(_ id: String, _ event: String, _ body: String) async throws -> TestResponse {
                let bytes = Array(body.utf8)
                return try await relay.post(
                    headers: factory.headers(body: bytes, event: event, deliveryID: id),
                    body: bytes
                )
            }
            #expect(
                try await post("req_console_1", "CONVERSION_COMPLETED", #"{"conversion_id":"doc-1"}"#).status == 202
            )
            let payload =
                #"{"conversion_id":"doc-2","note":"<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"}"#
            #expect(try await post("req_console_xss", "CONVERSION_COMPLETED", payload).status == 202)
            // Refused by Kafka three times (the request, the retrier, the dead-letter topic): dead.
            relay.cluster.pushProduceErrors([.messageSizeTooLarge, .messageSizeTooLarge, .messageSizeTooLarge])
            #expect(
                try await post("req_console_dead", "CONVERSION_FAILED", #"{"conversion_id":"doc-3"}"#).status == 202
            )
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while relay.application.buffer.statistics.deadCount < 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(relay.application.buffer.statistics.deadCount == 1)
            try relay.cluster.setBrokerDown()
            let pending = try await post("req_console_pending", "CONVERSION_STARTED", #"{"conversion_id":"doc-4"}"#)
            #expect(pending.status == 202 && pending.bodyText.contains("buffered"), "\(pending.bodyText)")

            // The page itself: served without the token, under a strict policy.
            let page = try await HTTPTestClient.send(port: relay.adminPort, method: "GET", path: "/")
            #expect(page.status == 200)
            #expect(page.header("content-security-policy")?.hasPrefix("default-src 'self'") == true)
            #expect(!page.bodyText.contains("<script>"), "no inline script")
            let unauthorized = try await HTTPTestClient.send(
                port: relay.adminPort,
                method: "GET",
                path: "/admin/events"
            )
            #expect(unauthorized.status == 401)

            let signin = try await Self.browse(
                "signin",
                relay: relay,
                expected: ["pending_id": "req_console_pending", "dead_id": "req_console_dead", "kafka_up": false]
            )
            #expect((signin["chart_lines"] as? Int ?? 0) >= 1)
            #expect((signin["dead_row"] as? [String])?.last?.isEmpty == false, "the dead letter's reason")

            try relay.cluster.setBrokerUp()
            let events = try await Self.browse(
                "events",
                relay: relay,
                expected: [
                    "published_id": "req_console_1", "published_topic": "docutray.conversion.completed",
                    "xss_id": "req_console_xss", "dead_id": "req_console_dead",
                ]
            )
            #expect((events["xss_body"] as? String)?.contains("<script>window.__xss=1</script>") == true)
            let replayed = try await relay.consumer().waitForMessages(topic: "docutray.conversion.failed", count: 1)
            #expect(replayed.first?.header("ce_id") == "req_console_dead")
            #expect(replayed.first?.header("ce_relayreplay") != nil)
            print(
                "console screenshots: \((signin["screenshots"] as? [String] ?? []) + (events["screenshots"] as? [String] ?? []))"
            )
        }
    }
}
