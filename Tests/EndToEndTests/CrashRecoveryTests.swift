import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import Testing

/// The relay as a real process, killed with SIGKILL while holding buffered events: after a restart on
/// the same buffer directory every event it answered 2xx for reaches Kafka.
@Suite("Crash recovery", .serialized, .timeLimit(.minutes(3)))
struct CrashRecoveryTests {
    struct Relay {
        let process: ChildProcess
        let port: Int
    }

    static func startRelay(cluster: MockKafkaCluster, buffer: String) async throws -> Relay {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
        environment.merge([
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers,
            "RELAY_HTTP_HOST": "127.0.0.1",
            "RELAY_HTTP_PORT": "0",
            "RELAY_BUFFER_PATH": buffer,
            "RELAY_DOCUTRAY_SECRETS": SignatureVector.secret,
            "RELAY_DOCUTRAY_WEBHOOK_URL": SignatureVector.webhookURL,
            "RELAY_KAFKA_PUBLISH_TIMEOUT": "300ms",
            "RELAY_KAFKA_WARMUP_TIMEOUT": "0s",
            "RELAY_RETRY_MAX_BACKOFF": "500ms",
            "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MAX_MS": "300",
        ]) { $1 }
        let process = try ChildProcess(RelayExecutable.path, ["serve"], environment: environment)
        try await process.waitForOutput(containing: "Listening for webhooks", inErrors: true)
        let line = try #require(
            process.standardError.split(separator: "\n").first { $0.contains("Listening for webhooks") }
        )
        let port = try #require(
            line.split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) }
        )
        return Relay(process: process, port: port)
    }

    @Test("SIGKILL with buffered events, restart on the same directory: every acknowledged id reaches Kafka")
    func killAndRestart() async throws {
        let cluster = try MockKafkaCluster()
        let buffer = TestRelay.temporaryDirectory(prefix: "relay-crash")
        var factory = DeliveryFactory()
        factory.timestamp = Int64(Date().timeIntervalSince1970)

        let first = try await Self.startRelay(cluster: cluster, buffer: buffer)
        var acknowledged: [String] = []
        func post(_ number: Int, to relay: Relay) async throws {
            let id = "req_crash_\(number)"
            let body = Array(#"{"conversion_id":"doc-\#(number % 4)","n":\#(number)}"#.utf8)
            let response = try await HTTPTestClient.send(
                port: relay.port,
                path: "/webhooks/docutray",
                headers: factory.headers(body: body, event: "CONVERSION_COMPLETED", requestID: id),
                body: body
            )
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

        let second = try await Self.startRelay(cluster: cluster, buffer: buffer)
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: acknowledged.count, timeout: .seconds(60))
        let received = Set(messages.compactMap { $0.header("ce_id") })
        #expect(received.isSuperset(of: acknowledged), "missing: \(Set(acknowledged).subtracting(received).sorted())")
        #expect(second.process.standardError.contains("Retry buffer opened"))

        second.process.signal(SIGTERM)
        #expect(await second.process.waitForExit(timeout: .seconds(30)) == 0)
    }
}
