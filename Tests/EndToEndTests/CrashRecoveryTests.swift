import Foundation
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The relay as a real process, killed with SIGKILL while holding buffered events: after a restart on
/// the same buffer directory every event it answered 2xx for reaches Kafka.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    @Test(
        "SIGKILL with buffered events, restart on the same directory: every acknowledged id reaches Kafka",
        .timeLimit(.minutes(3))
    )
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

    /// Kill cycles in `make test`; `CHAOS_CYCLES=200 make chaos` runs a long one.
    static let chaosCycles = ProcessInfo.processInfo.environment["CHAOS_CYCLES"].flatMap(Int.init) ?? 8
    /// A cycle takes about 2.5 s; the read-back of a long run's topic takes a few minutes more.
    static let chaosMinutes = 5 + chaosCycles / 15

    @Test(
        "Chaos: SIGKILL under load, cycle after cycle, while the broker goes down and up: every 2xx id reaches Kafka",
        .timeLimit(.minutes(Self.chaosMinutes))
    )
    func killLoop() async throws {
        let cluster = try MockKafkaCluster()
        // The mock broker keeps 5 MiB per partition: 64 partitions hold a long run's ~100,000 records.
        try cluster.createTopic("docutray.conversion.completed", partitions: 64)
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-chaos")
        let tally = ChaosTally()
        let extra = ["RELAY_KAFKA_WARMUP_TIMEOUT": "200ms"]
        var generator = SystemRandomNumberGenerator()
        var cyclesUnderLoad = 0
        for cycle in 0..<Self.chaosCycles {
            let relay = try await RelayProcess.start(cluster: cluster, buffer: buffer, extra: extra)
            let acknowledgedBefore = tally.acknowledged.withLock { $0.count }
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for sender in 0..<4 {
                        group.addTask {
                            var number = 0
                            while !Task.isCancelled {
                                let id = "req_chaos_\(cycle)_\(sender)_\(number)"
                                number += 1
                                tally.attempts.withLock { $0 += 1 }
                                let answer = try? await relay.post(id, document: id)
                                if let answer, (200..<300).contains(answer.status) {
                                    _ = tally.acknowledged.withLock { $0.insert(id) }
                                }
                            }
                        }
                    }
                }
            }
            // On a busy machine a fresh relay may answer its first request late: the cycle's clock
            // starts once the load reaches it, so that every kill lands on a relay under load.
            let waitStart = ContinuousClock.now
            while tally.acknowledged.withLock({ $0.count }) == acknowledgedBefore,
                ContinuousClock.now - waitStart < .seconds(15)
            {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...600, using: &generator)))
            if cycle % 3 == 0 { try cluster.setBrokerDown() } else { try cluster.setBrokerUp() }
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...800, using: &generator)))
            relay.process.signal(SIGKILL)
            _ = await relay.process.waitForExit()
            load.cancel()
            await load.value
            cyclesUnderLoad += tally.acknowledged.withLock { $0.count } > acknowledgedBefore ? 1 : 0
        }

        try cluster.setBrokerUp()
        let last = try await RelayProcess.start(cluster: cluster, buffer: buffer, extra: extra)
        defer { last.process.signal(SIGKILL) }
        let expected = tally.acknowledged.withLock { $0 }
        let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        let deadline = ContinuousClock.now.advanced(by: .seconds(90 + Self.chaosCycles))
        let readStart = ContinuousClock.now
        var received: [String] = []
        var trimmed: Set<Int32> = []
        repeat {
            // A long run leaves a topic of many thousand records: each read gets the time that is left.
            let records = try await consumer.readAll(
                topic: "docutray.conversion.completed",
                timeout: max(deadline - .now, .seconds(10))
            )
            received = records.compactMap { $0.header("ce_id") }
            trimmed = Set(records.filter { $0.offset > 0 }.map(\.partition))
                .subtracting(records.filter { $0.offset == 0 }.map(\.partition))
            if Set(received).isSuperset(of: expected) || !trimmed.isEmpty { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        #expect(trimmed.isEmpty, "the mock broker dropped the oldest records of partitions \(trimmed.sorted())")
        let missing = expected.subtracting(received)
        #expect(missing.isEmpty, "acknowledged but not in Kafka: \(missing.sorted().prefix(20))")
        #expect(
            cyclesUnderLoad == Self.chaosCycles,
            "the load ran: \(cyclesUnderLoad) cycles had acknowledged requests"
        )
        print(
            "chaos: \(Self.chaosCycles) kill cycles, \(tally.attempts.withLock { $0 }) requests sent, \(expected.count) acknowledged, "
                + "\(received.count) records in Kafka (\(received.count - Set(received).count) duplicates), \(missing.count) lost, "
                + "read back in \(ContinuousClock.now - readStart)"
        )
    }
}

/// What the chaos test's senders did, shared between them.
private final class ChaosTally: Sendable {
    let acknowledged = Locked<Set<String>>([])
    let attempts = Locked(0)
}
