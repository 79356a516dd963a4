import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The consumer examples in other languages read what the relay produced, over the wire, and
/// verify its signatures.
@Suite("Consumer examples", .serialized, .timeLimit(.minutes(3)))
struct ConsumerExamplesTests {
    static let root = Repository.root
    let environment = ProcessInfo.processInfo.environment

    /// Posts the step events of the fixtures, a step completed with validation errors, and a conversion;
    /// returns their request ids and the topics the relay published the fixtures to.
    func postWorkflow(_ relay: TestRelay) async throws -> (ids: [String], topics: Set<String>) {
        var ids: [String] = []
        var topics: Set<String> = []
        for vector in try SignatureVector.all()
        where vector.event.hasPrefix("STEP_") || vector.event == "CONVERSION_COMPLETED" {
            let response = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(response.status == 202)
            ids.append(vector.deliveryID)
            let answer = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            if let topic = answer?["topic"] as? String { topics.insert(topic) }
        }
        let body = Array(
            #"{"step_execution_id":"step_exec_qc","step_id":"step_validate","step_name":"Validate","status":"completed","validation":{"errors":{"count":2,"messages":["total mismatch","missing date"]},"warnings":{"count":0,"messages":[]}}}"#
                .utf8
        )
        let response = try await relay.post(
            headers: DeliveryFactory().headers(body: body, event: "STEP_COMPLETED", deliveryID: "req_qc_errors"),
            body: body
        )
        #expect(response.status == 202)
        return (ids + ["req_qc_errors"], topics)
    }

    func lines(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("Python (confluent-kafka): verifies signatures, follows workflow progress, routes validation results")
    func python() async throws {
        try await withTestRelay { relay in
            let ids = try await postWorkflow(relay).ids
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
            let ids = try await postWorkflow(relay).ids
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

    /// A record as a line for the Java check program: the value, then `name=value` per header, in base64.
    static func checkLine(_ message: KafkaMessage) -> String {
        let fields =
            [Data(message.value ?? []).base64EncodedString()]
            + message.headers.map { "\($0.name)=\(Data($0.value ?? []).base64EncodedString())" }
        return fields.joined(separator: "\t")
    }

    @Test(
        "Java: the example's RelayEvent checks (JDK only) verify what the relay produced and refuse tampering"
    )
    func java() async throws {
        // The Kafka loop needs Apache kafka-clients from Maven Central, which this machine cannot
        // reach; everything the example does with a record is in RelayEvent, which needs only the JDK.
        let classes = TestRelay.temporaryDirectory(prefix: "java-consumer")
        let sources = Self.root.appendingPathComponent("examples/consumers/java/src")
        let build = try await ChildProcess.run(
            "/usr/bin/env",
            [
                "javac", "-Xlint:all", "-Werror", "-d", classes,
                sources.appendingPathComponent("main/java/com/example/relay/RelayEvent.java").path,
                sources.appendingPathComponent("test/java/com/example/relay/RelayEventCheck.java").path,
            ],
            environment: environment,
            timeout: .seconds(120)
        )
        #expect(build.status == 0, "\(build.stderr)")
        try await withTestRelay { relay in
            let (ids, topics) = try await postWorkflow(relay)
            let consumer = try relay.consumer()
            var records: [KafkaMessage] = []
            for topic in topics.sorted() { records += try await consumer.readAll(topic: topic) }
            #expect(Set(records.compactMap { $0.header("ce_id") }) == Set(ids))

            func check(
                _ lines: [String],
                secrets: String,
                webhookURL: String = SignatureVector.webhookURL
            )
                async throws -> [[String: Any]]
            {
                let run = try await ChildProcess.run(
                    "/usr/bin/env",
                    ["java", "-cp", classes, "com.example.relay.RelayEventCheck", secrets, webhookURL],
                    environment: environment,
                    stdin: Array((lines.joined(separator: "\n") + "\n").utf8),
                    timeout: .seconds(60)
                )
                #expect(run.status == 0, "\(run.stderr.suffix(1500))")
                return try self.lines(run.stdout)
            }

            let recordLines = records.map(Self.checkLine)
            let checked = try await check(recordLines, secrets: "whsec_old_one,\(SignatureVector.secret)")
            #expect(
                Set(checked.compactMap { $0["ce_id"] as? String }) == Set(records.compactMap { $0.header("ce_id") })
            )
            #expect(checked.allSatisfy { $0["verified"] as? Bool == true }, "every relayed record verifies")
            #expect(checked.allSatisfy { $0["replayed"] as? Bool == false })

            // A byte added to the body; the wrong secret; the wrong webhook URL: none verifies.
            var tampered = try #require(records.first)
            tampered.value = (tampered.value ?? []) + Array(" ".utf8)
            let refused =
                try await check([Self.checkLine(tampered)], secrets: SignatureVector.secret)
                + check([recordLines[0]], secrets: "whsec_not_the_secret")
                + check([recordLines[0]], secrets: SignatureVector.secret, webhookURL: "https://elsewhere.example/hook")
            #expect(refused.count == 3)
            #expect(refused.allSatisfy { $0["verified"] as? Bool == false })
        }
    }
}
