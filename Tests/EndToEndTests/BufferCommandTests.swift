import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// `webhook-relay buffer …` and `replay` as an operator runs them: against a running relay's admin
/// API, and with `--path` on a stopped (or crashed) relay's buffer directory.
@Suite("Buffer and replay commands", .serialized, .timeLimit(.minutes(4)))
struct BufferCommandTests {
    let executable = RelayExecutable.path

    func run(
        _ arguments: [String],
        environment: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(executable, arguments, environment: environment)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("After a crash with pending events, status, export and replay work offline on the directory")
    func offlineAfterCrash() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-offline")
        let relay = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        try await relay.post("req_off_0", document: "doc-0")
        try cluster.setBrokerDown()
        var pending: [String] = []
        for number in 1...6 {
            let response = try await relay.post("req_off_\(number)", document: "doc-\(number % 2)")
            #expect(response.status == 202)
            pending.append("req_off_\(number)")
        }
        relay.process.signal(SIGKILL)
        _ = await relay.process.waitForExit()
        let environment = relay.environment

        let status = try await run(["buffer", "status", "--path", buffer, "--json"], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        let counts = try json(status.stdout)
        #expect(counts["pending"] as? Int == 6)
        #expect(counts["dead"] as? Int == 0)
        #expect(counts["archived"] as? Int == 1)

        let human = try await run(["buffer", "status", "--path", buffer], environment: environment)
        #expect(human.stdout.contains("pending         6"), "\(human.stdout)")

        let export = try await run(
            ["buffer", "export", "--path", buffer, "--state", "pending"],
            environment: environment
        )
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count == 6)
        for line in lines {
            let record = try JSONDecoder().decode(AdminAPI.Record.self, from: Data(line.utf8))
            #expect(pending.contains(record.deliveryID))
            #expect(record.body == #"{"conversion_id":"\#(record.key ?? "")","request":"\#(record.deliveryID)"}"#)
            #expect(record.headers?.contains { $0.name == "ce_id" && $0.value == record.deliveryID } == true)
        }

        try cluster.setBrokerUp()
        let dry = try await run(
            ["replay", "--path", buffer, "--state", "pending", "--dry-run", "--json"],
            environment: environment
        )
        #expect(try json(dry.stdout)["matched"] as? Int == 6, "\(dry.stderr)")
        let replay = try await run(
            ["replay", "--path", buffer, "--state", "pending", "--json"],
            environment: environment
        )
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try json(replay.stdout)["replayed"] as? Int == 6)
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: 7)
        #expect(Set(messages.compactMap { $0.header("ce_id") }).isSuperset(of: pending))
        let after = try json(
            try await run(["buffer", "status", "--path", buffer, "--json"], environment: environment).stdout
        )
        #expect(after["pending"] as? Int == 0)
    }

    @Test("On a terminal, replay, check and export draw a progress line on stderr; piped, they print none")
    func progressOnlyOnATerminal() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-progress")
        let relay = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        for number in 0..<20 { try await relay.post("req_progress_\(number)", document: "doc-\(number)") }
        relay.process.signal(SIGTERM)
        _ = await relay.process.waitForExit()
        let environment = relay.environment
        let replay = ["replay", "--path", buffer, "--state", "archived", "--topic", "copies"]
        let piped = try await run(replay, environment: environment)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(!piped.stderr.contains("replayed 20/20"), "\(piped.stderr)")
        #expect(!piped.stderr.contains("\r"))
        let exported = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        for (arguments, expected) in [
            (replay, "replayed 20/20 records"),
            (["buffer", "check", "--path", buffer], "checked 20 records"),
            (["buffer", "export", "--path", buffer, "--output", exported.path], "exported 20 records"),
        ] {
            // `script` runs the command on a pseudo-terminal, as an operator's shell would.
            let command = ([executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
            let terminal = try await ChildProcess.run(
                "/usr/bin/script",
                ["-qec", command, "/dev/null"],
                environment: environment
            )
            #expect(terminal.status == 0, "\(terminal.stdout)")
            #expect(terminal.stdout.contains(expected), "\(arguments[0]): \(terminal.stdout)")
            #expect(terminal.stdout.contains("/s"), "a rate: \(terminal.stdout)")
        }
    }

    @Test("check finds an injected damaged record; --quarantine moves it aside and keeps the rest")
    func checkAndQuarantine() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-check")
        let relay = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        for number in 0..<4 { try await relay.post("req_chk_\(number)", document: "doc-\(number)") }
        relay.process.signal(SIGTERM)
        #expect(await relay.process.waitForExit() == 0)

        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: buffer).first { $0.hasSuffix(".log") }
        )
        let path = buffer + "/" + segment
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let marker = Array("req_chk_2".utf8)
        let position = try #require(bytes.firstRange(of: marker)).lowerBound
        bytes[position] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let check = try await run(["buffer", "check", "--path", buffer, "--json"], environment: relay.environment)
        #expect(check.status == 1, "damage makes the exit status non-zero")
        let report = try json(check.stdout)
        #expect(report["clean"] as? Bool == false)
        let damage = try #require(report["damage"] as? [[String: Any]])
        #expect(damage.count == 1)
        #expect(damage.first?["file"] as? String == segment)
        #expect(damage.first?["kind"] as? String == "corrupt")

        let human = try await run(["buffer", "check", "--path", buffer], environment: relay.environment)
        #expect(human.stdout.contains("Damage found"))

        let quarantine = try await run(
            ["buffer", "check", "--path", buffer, "--quarantine", "--json"],
            environment: relay.environment
        )
        #expect(quarantine.status == 0, "\(quarantine.stderr)")
        let moved = try #require(try json(quarantine.stdout)["quarantined"] as? [String])
        #expect(moved.count == 1)
        #expect(FileManager.default.fileExists(atPath: buffer + "/" + moved[0]))

        let again = try json(
            try await run(["buffer", "check", "--path", buffer, "--json"], environment: relay.environment).stdout
        )
        #expect(again["clean"] as? Bool == true)
        #expect(again["records"] as? Int == 3)
        let listed = try await run(["buffer", "inspect", "--path", buffer, "--json"], environment: relay.environment)
        let page = try JSONDecoder().decode(AdminAPI.RecordPage.self, from: Data(listed.stdout.utf8))
        #expect(Set(page.records.map(\.deliveryID)) == ["req_chk_0", "req_chk_1", "req_chk_3"])
    }

    @Test("Against a running relay: status, inspect, replay of one archived event by request id; --path is refused")
    func againstRunningRelay() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-live")
        let relay = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        defer { relay.process.signal(SIGKILL) }
        for number in 0..<3 { try await relay.post("req_live_\(number)", document: "doc-\(number)") }
        let environment = relay.cliEnvironment

        let status = try await run(["buffer", "status", "--json"], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(try json(status.stdout)["archived"] as? Int == 3)

        let inspect = try await run(["buffer", "inspect", "--request-id", "req_live_1"], environment: environment)
        #expect(inspect.stdout.contains("req_live_1"))
        #expect(inspect.stdout.contains("archived"))
        #expect(!inspect.stdout.contains("req_live_2"))

        let replay = try await run(["replay", "--request-id", "req_live_1", "--json"], environment: environment)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try json(replay.stdout)["replayed"] as? Int == 1)
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: 4)
        let replayed = messages.filter { $0.header("ce_relayreplay") != nil }
        #expect(replayed.map { $0.header("ce_id") } == ["req_live_1"])

        var noToken = environment
        noToken["RELAY_ADMIN_TOKEN"] = nil
        let refused = try await run(["buffer", "status"], environment: noToken)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("RELAY_ADMIN_TOKEN"))

        let offline = try await run(["buffer", "status", "--path", buffer], environment: environment)
        #expect(offline.status != 0)
        #expect(offline.stderr.contains("in use by a running relay"), "\(offline.stderr)")

        let unguided = try await run(["replay", "--json"], environment: environment)
        #expect(unguided.status != 0)
        #expect(unguided.stderr.contains("--state"))
    }
}
