import Crypto
import Foundation
import Logging
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import Testing

/// The buffer directory as an attacker with write access to it, or a careless look at it, would
/// treat it: looking changes nothing, planted links are never written through, files are private.
@Suite("The buffer directory and the tools", .serialized, .timeLimit(.minutes(3)))
struct BufferDirectoryTests {
    let executable = RelayExecutable.path
    let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }

    /// Every entry under `directory`: its kind, permissions, size and a digest of its content.
    static func snapshot(_ directory: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        let manager = FileManager.default
        for relative in try manager.subpathsOfDirectory(atPath: directory) {
            let path = directory + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: path)
            let kind = attributes[.type] as? FileAttributeType
            let permissions = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            var entry = "\(kind?.rawValue ?? "?") \(permissions) \(attributes[.size] ?? "?")"
            if kind == .typeRegular, let data = manager.contents(atPath: path) {
                entry += " " + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            }
            entries[relative] = entry
        }
        return entries
    }

    /// A stopped relay's buffer: several segments of records archived two days ago (past the
    /// default 24 h retention), pending records, and a torn tail on the last segment.
    static func stoppedBuffer() async throws -> String {
        let directory = TestRelay.temporaryDirectory(prefix: "relay-look")
        let twoDaysAgo = Int64(Date().timeIntervalSince1970 * 1000) - 2 * 86_400_000
        let buffer = try RetryBuffer.open(
            directory: directory,
            configuration: BufferConfiguration(segmentSize: 64 << 10, archiveRetention: .seconds(7 * 86_400)),
            logger: Logger(label: "test"),
            clock: { twoDaysAgo }
        )
        for number in 0..<40 {
            let record = BufferRecord(
                source: "docutray",
                deliveryID: "req_look_\(number)",
                eventType: "CONVERSION_COMPLETED",
                topic: "docutray.conversion.completed",
                key: Array("doc-\(number)".utf8),
                headers: [BufferedHeader(name: "ce_id", value: Array("req_look_\(number)".utf8))],
                value: Array(#"{"n":\#(number),"pad":"\#(String(repeating: "x", count: 8_000))"}"#.utf8),
                receivedAt: twoDaysAgo,
                attempts: 0
            )
            let id = try await buffer.append(record)
            if number < 36 { buffer.markDelivered(id) }
        }
        await buffer.close()
        let logs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }
            .sorted()
        #expect(logs.count >= 3, "several segments: \(logs)")
        let last = try #require(logs.last)
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/" + last))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x00, 0x00, 0x10, 0x00, 0xde, 0xad]))
        try handle.close()
        return directory
    }

    @Test("buffer status, inspect, export and check with --path change nothing, not even the lock file")
    func lookingChangesNothing() async throws {
        let directory = try await Self.stoppedBuffer()
        let before = try Self.snapshot(directory)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)").path
        let commands = [
            ["buffer", "status", "--path", directory, "--json"],
            ["buffer", "inspect", "--path", directory, "--state", "archived"],
            ["buffer", "export", "--path", directory, "--output", output],
            ["buffer", "check", "--path", directory],
            ["replay", "--path", directory, "--state", "archived", "--dry-run", "--json"],
        ]
        for command in commands {
            let result = try await ChildProcess.run(executable, command, environment: environment)
            #expect([0, 1].contains(result.status), "\(command): \(result.stderr)")
            if command[1] == "status" {
                let counts = try #require(
                    try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                )
                #expect(counts["archived"] as? Int == 36, "the archive past 24 h is still all there: \(counts)")
                #expect(counts["pending"] as? Int == 4)
            }
            #expect(try Self.snapshot(directory) == before, "\(command.prefix(2)) changed the directory")
        }
        #expect(try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").count == 40)
    }

    @Test("replay --path keeps the configured archive retention: an archive older than the default 24 h stays")
    func replayKeepsConfiguredRetention() async throws {
        let directory = try await Self.stoppedBuffer()
        // The torn tail is cut by the replay's recovery, as the relay would; the archive must stay.
        let cluster = try MockKafkaCluster()
        var environment = self.environment
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
        environment["RELAY_ARCHIVE_RETENTION"] = "72h"
        let replay = try await ChildProcess.run(
            executable,
            ["replay", "--path", directory, "--state", "pending", "--json"],
            environment: environment
        )
        #expect(replay.status == 0, "\(replay.stderr)")
        let replayed = try #require(try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any])
        #expect(replayed["replayed"] as? Int == 4)
        let status = try await ChildProcess.run(
            executable,
            ["buffer", "status", "--path", directory, "--json"],
            environment: environment
        )
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(counts["archived"] as? Int == 40, "two-day-old archive kept under a 72 h retention: \(counts)")
        #expect(counts["pending"] as? Int == 0)
    }

    @Test("check --quarantine never writes through a planted link, and refuses a linked quarantine folder")
    func quarantineRefusesLinks() async throws {
        let directory = try await Self.stoppedBuffer()
        let report = try await ChildProcess.run(
            executable,
            ["buffer", "check", "--path", directory, "--json"],
            environment: environment
        )
        let damage = try #require(
            (try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])?["damage"]
                as? [[String: Any]]
        )
        let torn = try #require(damage.first)
        let name = "\(torn["file"] as? String ?? "")-at-\(torn["offset"] as? Int ?? 0).bin"
        // The file a root-run check would overwrite, as authorized_keys would be.
        let victim = FileManager.default.temporaryDirectory.appendingPathComponent("victim-\(UUID().uuidString)").path
        try Data("ssh-ed25519 AAAA original\n".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createDirectory(atPath: directory + "/quarantine", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/quarantine/" + name,
            withDestinationPath: victim
        )

        let quarantined = try await ChildProcess.run(
            executable,
            ["buffer", "check", "--path", directory, "--quarantine", "--json"],
            environment: environment
        )
        #expect(quarantined.status == 0, "\(quarantined.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "ssh-ed25519 AAAA original\n")
        let copies = try FileManager.default.contentsOfDirectory(atPath: directory + "/quarantine")
        #expect(copies.contains { $0.hasSuffix("-2.bin") }, "the bytes went to a new file beside the link: \(copies)")

        // A quarantine folder that is itself a link is refused.
        let second = try await Self.stoppedBuffer()
        let elsewhere = TestRelay.temporaryDirectory(prefix: "elsewhere")
        try FileManager.default.createSymbolicLink(atPath: second + "/quarantine", withDestinationPath: elsewhere)
        let refused = try await ChildProcess.run(
            executable,
            ["buffer", "check", "--path", second, "--quarantine"],
            environment: environment
        )
        #expect(refused.status != 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty,
            "nothing written through the link"
        )
    }

    @Test("Buffer files are 0600 and directories 0700; export --output is 0600 and not written through a link")
    func privateFiles() async throws {
        let relay = try await TestRelay.start()
        let vector = try #require(try SignatureVector.all().first)
        #expect(try await relay.post(headers: vector.headerList, body: vector.bodyBytes).status == 202)
        let directory = relay.application.configuration.buffer.path
        try await relay.stop()
        let modes = try Self.snapshot(directory).mapValues { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(!modes.isEmpty)
        for (path, mode) in modes {
            let expected = mode.hasPrefix("NSFileTypeDirectory") ? "NSFileTypeDirectory 700" : "NSFileTypeRegular 600"
            #expect(mode == expected, "\(path): \(mode)")
        }
        let root = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(root == 0o700)

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)").path
        let export = try await ChildProcess.run(
            executable,
            ["buffer", "export", "--path", directory, "--output", output],
            environment: environment
        )
        #expect(export.status == 0, "\(export.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int == 0o600)
        let victim = FileManager.default.temporaryDirectory.appendingPathComponent("victim-\(UUID().uuidString)").path
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: victim))
        let link = output + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let through = try await ChildProcess.run(
            executable,
            ["buffer", "export", "--path", directory, "--output", link],
            environment: environment
        )
        #expect(through.status != 0)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me\n")
    }

    @Test("A buffer directory owned by another user is refused for writing, and can still be looked at")
    func foreignOwnerRefused() async throws {
        guard geteuid() == 0 else { return }  // only root can give a directory away
        let directory = try await Self.stoppedBuffer()
        #expect(chown(directory, 12_345, 12_345) == 0)
        let quarantine = try await ChildProcess.run(
            executable,
            ["buffer", "check", "--path", directory, "--quarantine"],
            environment: environment
        )
        #expect(quarantine.status != 0)
        #expect(quarantine.stderr.contains("belongs to another user"), "\(quarantine.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/quarantine"))
        #expect(throws: BufferError.self) { try RetryBuffer.open(directory: directory, logger: Logger(label: "test")) }
        let status = try await ChildProcess.run(
            executable,
            ["buffer", "status", "--path", directory],
            environment: environment
        )
        #expect(status.status == 0, "looking is allowed: \(status.stderr)")
    }
}
