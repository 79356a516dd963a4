import ArgumentParser
import Foundation
import Logging
import RelayKafka
import RetryBuffer

/// Fills an archive (records appended and delivered), then times `webhook-relay replay` on it as an
/// operator runs it: a dry-run count, a filtered dry run and a full replay to the mock Kafka cluster,
/// first against a running relay (through its admin API; the relay's peak RSS is read from
/// /proc), then offline with `--path` (the command's own peak RSS, from GNU time's %M).
struct ArchiveReplayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive-replay",
        abstract: "Dry-run count and full replay of a large archive: time and peak RSS."
    )

    @Option(help: "Archived records.") var records = 1_048_576
    @Option(help: "Value size in bytes.") var size = 1024
    @Option(help: "The relay binary (release build).") var relay = BenchPaths.relayBinary

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let filler = try RetryBuffer.open(
            directory: directory,
            configuration: BufferConfiguration(maximumSize: 1 << 34, archiveRetention: .seconds(86_400)),
            logger: quiet
        )
        let template = BenchmarkRecords.record(size: size)
        try await BenchmarkRecords.fill(
            filler,
            count: records,
            template: template,
            adjust: { copy, number in
                copy.deliveryID = "req_\(number)"
                copy.eventType = number.isMultiple(of: 10) ? "STEP_FAILED" : "CONVERSION_COMPLETED"
            },
            appended: { filler.markDelivered($0) }
        )
        let archived = filler.statistics
        await filler.close()
        print("archive: \(archived.archivedCount) records, \(archived.totalBytes >> 20) MiB on disk")

        let cluster = try MockKafkaCluster(brokers: 1)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
        try await againstRunningRelay(directory: directory, environment: environment)
        print("\nOffline, on the stopped relay's directory (each command opens and recovers the buffer first):\n")
        print("| command | wall time | peak RSS | answer |")
        print("|---|---|---|---|")
        for (title, arguments) in [
            ("replay --dry-run --state archived", ["--dry-run", "--state", "archived"]),
            (
                "replay --dry-run --state archived --event-type STEP_FAILED",
                ["--dry-run", "--state", "archived", "--event-type", "STEP_FAILED"]
            ),
            ("replay --state archived --topic replayed", ["--state", "archived", "--topic", "replayed.archive"]),
        ] {
            let (seconds, peak, output) = try timed(
                [relay, "replay", "--path", directory, "--json"] + arguments,
                environment: environment
            )
            print("| `\(title)` | \(String(format: "%.2f", seconds)) s | \(peak >> 10) MiB | `\(output)` |")
        }
    }

    /// `webhook-relay serve` on the archive; the CLI's replays go through its admin API.
    private func againstRunningRelay(directory: String, environment base: [String: String]) async throws {
        var environment = base
        let adminPort = 18_000 + Int.random(in: 0..<1000)
        environment.merge([
            "RELAY_BUFFER_PATH": directory, "RELAY_BUFFER_MAX_SIZE": "16GiB", "RELAY_HTTP_HOST": "127.0.0.1",
            "RELAY_HTTP_PORT": "0", "RELAY_ADMIN_PORT": String(adminPort),
            "RELAY_ADMIN_TOKEN": "bench-admin-token-0123",
            "RELAY_DOCUTRAY_SECRETS": "whsec_bench_secret", "RELAY_DOCUTRAY_VERIFY": "body",
            "RELAY_KAFKA_WARMUP_TIMEOUT": "0s", "RELAY_LOG_LEVEL": "warning",
        ]) { $1 }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: relay)
        server.arguments = ["serve"]
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try server.run()
        defer {
            // The offline commands that follow need the buffer's lock: wait until the relay has let go.
            server.terminate()
            server.waitUntilExit()
        }
        while (try? timed([relay, "buffer", "status", "--json"], environment: environment))?.2.contains("archived")
            != true
        {
            try await Task.sleep(for: .milliseconds(200))
        }
        let startup = (ContinuousClock.now - started).seconds
        let rssAtStart = Self.rss(server.processIdentifier, field: "VmRSS:")
        print(
            "Against `webhook-relay serve` on the archive (started and recovered in \(String(format: "%.1f", startup)) s, RSS \(rssAtStart >> 10) MiB):\n"
        )
        print("| command | wall time | relay peak RSS so far | answer |")
        print("|---|---|---|---|")
        for (title, arguments) in [
            ("replay --dry-run --state archived", ["--dry-run", "--state", "archived"]),
            (
                "replay --dry-run --state archived --event-type STEP_FAILED",
                ["--dry-run", "--state", "archived", "--event-type", "STEP_FAILED"]
            ),
            ("replay --state archived --topic replayed", ["--state", "archived", "--topic", "replayed.live"]),
        ] {
            let (seconds, _, output) = try timed([relay, "replay", "--json"] + arguments, environment: environment)
            let peak = Self.rss(server.processIdentifier, field: "VmHWM:")
            print("| `\(title)` | \(String(format: "%.2f", seconds)) s | \(peak >> 10) MiB | `\(output)` |")
        }
    }

    /// A memory figure of a process in KiB, from /proc/PID/status (`VmRSS:` now, `VmHWM:` peak).
    private static func rss(_ pid: Int32, field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    /// Runs a command under GNU time; returns its wall time, peak RSS in KiB and last stdout line.
    private func timed(_ command: [String], environment: [String: String]) throws -> (Double, Int, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%e %M"] + command
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let last = String(decoding: stderr, as: UTF8.self).split(separator: "\n").last ?? ""
        let fields = last.split(separator: " ")
        let answer = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return (Double(fields.first ?? "") ?? -1, Int(fields.last ?? "") ?? -1, answer)
    }
}
