import ArgumentParser
import Foundation
import Logging
import RelayKafka
import RetryBuffer

/// Fills an archive (records appended and delivered), then times `webhook-relay replay --path`
/// on it as an operator runs it: a dry-run count, a filtered dry run, and a full replay to the mock
/// Kafka cluster, each with the command's wall time and peak RSS (GNU time's %M).
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
