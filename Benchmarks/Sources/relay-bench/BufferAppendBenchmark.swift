import ArgumentParser
import Foundation
import Logging
import RelayPrimitives
import RetryBuffer

/// Appends pending records from many concurrent tasks, each append waiting for its fsync (group
/// commit), as the buffered request path does.
struct BufferAppendBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buffer-append",
        abstract: "Durable appends per second."
    )

    @Option(help: "Records to append.") var records = 50_000
    @Option(help: "Concurrent appenders (like concurrent requests).") var concurrency = 32
    @Option(help: "Value size in bytes.") var size = 1024
    @Option(help: "Kafka keys the records share, published in order per key (0: one key per record).")
    var keys = 0
    @Option(help: "Buffer directory (default: a new temporary one).") var path: String?

    func run() async throws {
        let directory =
            path ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
        let buffer = try RetryBuffer.open(
            directory: directory,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        )
        let record = BenchmarkRecords.record(size: size)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var number = worker
                    while number < records {
                        var copy = record
                        copy.deliveryID = "req_\(number)"
                        copy.key = Array("doc-\(keys > 0 ? number % keys : number)".utf8)
                        _ = try await buffer.append(copy)
                        number += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let statistics = buffer.statistics
        await buffer.close()
        let seconds = elapsed.seconds
        print(
            "buffer-append | records \(records) | keys \(keys > 0 ? String(keys) : "one per record") | concurrency \(concurrency) | size \(size) B | "
                + "\(Int(Double(records) / seconds)) appends/s | \(String(format: "%.1f", Double(statistics.totalBytes) / seconds / 1e6)) MB/s | "
                + "\(String(format: "%.2f", seconds)) s"
        )
        if path == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
}

enum BenchmarkRecords {
    /// A buffered CONVERSION_COMPLETED event with a `size`-byte JSON body.
    static func record(size: Int) -> BufferRecord {
        let prefix = #"{"conversion_id":"doc","status":"SUCCESS","pad":""#
        let body = prefix + String(repeating: "x", count: max(0, size - prefix.count - 2)) + #""}"#
        return BufferRecord(
            source: "docutray",
            deliveryID: "req",
            eventType: "CONVERSION_COMPLETED",
            topic: "docutray.conversion.completed",
            key: Array("doc".utf8),
            headers: [
                BufferedHeader(name: "ce_specversion", value: Array("1.0".utf8)),
                BufferedHeader(name: "ce_type", value: Array("com.docutray.conversion.completed".utf8)),
                BufferedHeader(name: "ce_relayattempt", value: Array("1".utf8)),
            ],
            value: Array(body.utf8),
            receivedAt: Int64(Date().timeIntervalSince1970 * 1000),
            attempts: 0
        )
    }

    /// Appends `count` copies of `template` to `buffer` from 64 tasks at once, each numbered copy
    /// first adjusted by `adjust`; `appended` runs on the new record's id (e.g. to deliver it).
    static func fill(
        _ buffer: RetryBuffer,
        count: Int,
        template: BufferRecord,
        adjust: @escaping @Sendable (inout BufferRecord, Int) -> Void,
        appended: @escaping @Sendable (RecordID) -> Void = { _ in }
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<64 {
                group.addTask {
                    var number = worker
                    while number < count {
                        var copy = template
                        adjust(&copy, number)
                        appended(try await buffer.append(copy))
                        number += 64
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
