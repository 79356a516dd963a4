import Foundation
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// SIGTERM while requests are arriving: the relay stops accepting, finishes what it started, keeps
/// anything Kafka did not acknowledge in the buffer, and exits 0. Nothing answered 2xx is lost.
@Suite("Graceful shutdown", .serialized, .timeLimit(.minutes(3)))
struct ShutdownTests {
    @Test("SIGTERM under load: exit 0, unflushed events in the buffer, every acknowledged id delivered after restart")
    func sigtermUnderLoad() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-shutdown")
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: buffer,
            extra: ["RELAY_KAFKA_FLUSH_TIMEOUT": "1s", "RELAY_SHUTDOWN_TIMEOUT": "20s"]
        )
        try await relay.post("req_warm", document: "doc-warm")
        // A broker much slower than the 1 s flush keeps events in flight when the signal arrives and
        // through the flush (at 800 ms, and once at 2.5 s on a machine busy with other work, the
        // shutdown took long enough to see every one acked).
        try cluster.setRoundTripTime(6000)
        let acknowledged = AcknowledgedIDs()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for number in 0..<200 {
                            let id = "req_term_\(worker)_\(number)"
                            guard let response = try? await relay.post(id, document: "doc-\(worker)") else { return }
                            if (200..<300).contains(response.status) { acknowledged.add(id) }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(1500))
        relay.process.signal(SIGTERM)
        let status = await relay.process.waitForExit(timeout: .seconds(60))
        load.cancel()
        await load.value
        #expect(status == 0, "\(relay.process.standardError.suffix(2000))")
        let answered = acknowledged.all
        #expect(answered.count > 0)

        let offline = try await ChildProcess.run(
            RelayExecutable.path,
            ["buffer", "status", "--path", buffer, "--json"],
            environment: relay.environment
        )
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(offline.stdout.utf8)) as? [String: Any])
        #expect(
            (counts["pending"] as? Int ?? 0) > 0,
            "events Kafka had not acknowledged are in the buffer: \(offline.stdout)"
        )

        try cluster.setRoundTripTime(0)
        let restarted = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: answered.count + 1, timeout: .seconds(60))
        let delivered = Set(messages.compactMap { $0.header("ce_id") })
        #expect(delivered.isSuperset(of: answered), "lost: \(Set(answered).subtracting(delivered).sorted().prefix(10))")
        restarted.process.signal(SIGTERM)
        #expect(await restarted.process.waitForExit(timeout: .seconds(30)) == 0)
    }
}

/// Ids answered 2xx, collected from several tasks.
final class AcknowledgedIDs: Sendable {
    private let ids = Locked<[String]>([])
    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var all: [String] { ids.withLock { $0 } }
}
