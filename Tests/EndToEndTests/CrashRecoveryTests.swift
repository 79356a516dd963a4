import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import Testing

/// The relay as a real process, killed with SIGKILL while holding buffered events: after a restart on
/// the same buffer directory every event it answered 2xx for reaches Kafka.
@Suite("Crash recovery", .serialized, .timeLimit(.minutes(3)))
struct CrashRecoveryTests {
    @Test("SIGKILL with buffered events, restart on the same directory: every acknowledged id reaches Kafka")
    func killAndRestart() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-crash")

        let first = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        var acknowledged: [String] = []
        func post(_ number: Int, to relay: RelayProcess) async throws {
            let id = "req_crash_\(number)"
            let response = try await relay.post(id, document: "doc-\(number % 4)")
            if (200..<300).contains(response.status) { acknowledged.append(id) }
            #expect(response.status == 202, "\(response.bodyText)")
        }
        try await post(0, to: first)
        try cluster.setBrokerDown()
        for number in 1...20 { try await post(number, to: first) }
        #expect(acknowledged.count == 21)

        first.process.signal(SIGKILL)
        _ = await first.process.waitForExit()
        try cluster.setBrokerUp()

        let second = try await RelayProcess.start(cluster: cluster, buffer: buffer)
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: acknowledged.count, timeout: .seconds(60))
        let received = Set(messages.compactMap { $0.header("ce_id") })
        #expect(received.isSuperset(of: acknowledged), "missing: \(Set(acknowledged).subtracting(received).sorted())")
        #expect(second.process.standardError.contains("Retry buffer opened"))

        second.process.signal(SIGTERM)
        #expect(await second.process.waitForExit(timeout: .seconds(30)) == 0)
    }
}
