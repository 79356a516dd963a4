import ArgumentParser
import Foundation
import Logging
import Relay
import RelayKafka
import RelayPrimitives
import RetryBuffer
import SenderKit
import Senders
import ServiceLifecycle

/// Fills a buffer with a backlog (as after an outage), then starts the relay on it against the mock
/// Kafka cluster and measures how fast the retrier drains it.
struct DrainBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drain", abstract: "Backlog drained per second.")

    @Option(help: "Backlog records.") var records = 100_000
    @Option(help: "Value size in bytes.") var size = 1024
    @Option(help: "Distinct Kafka keys in the backlog.") var keys = 10_000
    @Option(help: "Records the retrier publishes at once.") var inFlight = 1000

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drain-\(UUID().uuidString)").path
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let filler = try RetryBuffer.open(
            directory: directory,
            configuration: BufferConfiguration(maximumSize: 1 << 34),
            logger: quiet
        )
        let template = BenchmarkRecords.record(size: size)
        let fillStarted = ContinuousClock.now
        let keys = self.keys
        try await BenchmarkRecords.fill(filler, count: records, template: template) { copy, number in
            copy.deliveryID = "req_\(number)"
            copy.key = Array("doc-\(number % keys)".utf8)
        }
        let fillSeconds = (ContinuousClock.now - fillStarted).seconds
        let backlogBytes = filler.statistics.totalBytes
        await filler.close()

        let cluster = try MockKafkaCluster(brokers: 1)
        let configuration = try RelayConfiguration.load(
            environment: [
                "RELAY_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers,
                "RELAY_HTTP_HOST": "127.0.0.1",
                "RELAY_HTTP_PORT": "0",
                "RELAY_BUFFER_PATH": directory,
                "RELAY_BUFFER_MAX_SIZE": "16GiB",
                "RELAY_DOCUTRAY_SECRETS": "whsec_bench_secret",
                "RELAY_DOCUTRAY_WEBHOOK_URL": "http://127.0.0.1/webhooks/docutray",
                "RELAY_KAFKA_WARMUP_TIMEOUT": "0s",
                "RELAY_RETRY_MAX_IN_FLIGHT": String(inFlight),
                "RELAY_KAFKA_PROPERTY_LINGER_MS": "5",
            ],
            senders: SenderRegistry([DocutraySender()])
        )
        let relay = try await RelayApplication(configuration: configuration, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: relay.services, logger: quiet))
        let started = ContinuousClock.now
        let running = Task { try await group.run() }
        while relay.buffer.statistics.pendingCount > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let drainSeconds = (ContinuousClock.now - started).seconds
        await group.triggerGracefulShutdown()
        try await running.value
        print(
            "drain | records \(records) | size \(size) B | keys \(keys) | in flight \(inFlight) | "
                + "fill \(Int(Double(records) / fillSeconds)) appends/s | "
                + "drain \(Int(Double(records) / drainSeconds)) records/s, "
                + "\(String(format: "%.1f", Double(backlogBytes) / drainSeconds / 1e6)) MB/s | \(String(format: "%.2f", drainSeconds)) s"
        )
        try? FileManager.default.removeItem(atPath: directory)
    }
}
