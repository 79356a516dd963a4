import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import Testing

/// The consumer examples in other languages read what the relay produced, over the wire, and
/// verify its signatures.
@Suite("Consumer examples", .serialized, .timeLimit(.minutes(3)))
struct ConsumerExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let environment = ProcessInfo.processInfo.environment

    /// Posts the step events of the fixtures, a step completed with validation errors, and a conversion.
    func postWorkflow(_ relay: TestRelay) async throws -> [String] {
        var ids: [String] = []
        for vector in try SignatureVector.all()
        where vector.event.hasPrefix("STEP_") || vector.event == "CONVERSION_COMPLETED" {
            let response = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(response.status == 202)
            ids.append(vector.requestID)
        }
        let body = Array(
            #"{"step_execution_id":"step_exec_qc","step_id":"step_validate","step_name":"Validate","status":"completed","validation":{"errors":{"count":2,"messages":["total mismatch","missing date"]},"warnings":{"count":0,"messages":[]}}}"#
                .utf8
        )
        let response = try await relay.post(
            headers: DeliveryFactory().headers(body: body, event: "STEP_COMPLETED", requestID: "req_qc_errors"),
            body: body
        )
        #expect(response.status == 202)
        return ids + ["req_qc_errors"]
    }

    func lines(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("Python (confluent-kafka): verifies signatures, follows workflow progress, routes validation results")
    func python() async throws {
        try await withTestRelay { relay in
            let ids = try await postWorkflow(relay)
            let script = Self.root.appendingPathComponent("examples/consumers/python/consumer.py").path
            let run = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", script, "--bootstrap", relay.cluster.bootstrapServers, "--secret",
                    SignatureVector.secret,
                    "--webhook-url", SignatureVector.webhookURL, "--max-messages", String(ids.count), "--idle-timeout",
                    "30", "--json",
                ],
                environment: environment,
                timeout: .seconds(90)
            )
            #expect(run.status == 0, "\(run.stderr.suffix(1500))")
            let events = try lines(run.stdout)
            #expect(Set(events.compactMap { $0["ce_id"] as? String }) == Set(ids))
            #expect(events.allSatisfy { $0["verified"] as? Bool == true })
            let qc = try #require(events.first { $0["ce_id"] as? String == "req_qc_errors" })
            #expect(qc["routing"] as? String == "manual_review")
            let warnings = try #require(events.first { $0["ce_id"] as? String == "req_0007_7f3a9c" })
            #expect(warnings["routing"] as? String == "warnings_logged")
            #expect(events.contains { ($0["progress"] as? Double ?? 0) > 0 }, "workflow progress follows STEP_ events")

            let wrongSecret = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", script, "--bootstrap", relay.cluster.bootstrapServers, "--secret",
                    "whsec_not_the_secret",
                    "--webhook-url", SignatureVector.webhookURL, "--group", "wrong-secret", "--max-messages", "2",
                    "--idle-timeout", "30", "--json",
                ],
                environment: environment,
                timeout: .seconds(90)
            )
            let refused = try lines(wrongSecret.stdout)
            #expect(refused.count == 2)
            #expect(refused.allSatisfy { $0["verified"] as? Bool == false }, "a wrong secret fails verification")
        }
    }

    @Test("Go (confluent-kafka-go): builds and verifies every event's signatures")
    func go() async throws {
        let binary = TestRelay.temporaryDirectory(prefix: "go-consumer") + "/consumer"
        var goEnvironment = environment
        goEnvironment["GO111MODULE"] = "off"
        goEnvironment["GOPATH"] = "/usr/share/gocode"
        goEnvironment["GOCACHE"] = FileManager.default.temporaryDirectory.appendingPathComponent("relay-go-cache").path
        let build = try await ChildProcess.run(
            "/usr/bin/env",
            ["go", "build", "-o", binary, "."],
            environment: goEnvironment,
            currentDirectory: Self.root.appendingPathComponent("examples/consumers/go").path,
            timeout: .seconds(180)
        )
        #expect(build.status == 0, "\(build.stderr)")
        try await withTestRelay { relay in
            let ids = try await postWorkflow(relay)
            let run = try await ChildProcess.run(
                binary,
                [
                    "-bootstrap", relay.cluster.bootstrapServers, "-secret", SignatureVector.secret,
                    "-webhook-url", SignatureVector.webhookURL, "-max-messages", String(ids.count), "-idle-timeout",
                    "30s",
                ],
                environment: environment,
                timeout: .seconds(90)
            )
            #expect(run.status == 0, "\(run.stderr.suffix(1500))")
            let events = try lines(run.stdout)
            #expect(Set(events.compactMap { $0["ce_id"] as? String }) == Set(ids))
            #expect(events.allSatisfy { $0["verified"] as? Bool == true })
        }
    }
}
