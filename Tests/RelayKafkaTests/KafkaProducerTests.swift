import Foundation
import Logging
import RelayKafka
import RelayPrimitives
import Testing

@Suite("Kafka producer against the mock cluster", .serialized, .timeLimit(.minutes(2)))
struct KafkaProducerTests {
    let logger = Logger(label: "test.kafka") { _ in SwiftLogNoOpLogHandler() }

    /// A producer on `cluster` with the default settings.
    /// Where delivery reports are handled: the producer's own thread, or a reporter it wakes.
    enum Reports: String, CaseIterable, CustomTestStringConvertible {
        case pollThread = "on the poll thread"
        case reporter = "on a reporter"
        var testDescription: String { rawValue }
    }

    func makeProducer(on cluster: MockKafkaCluster, reports: Reports = .pollThread) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers),
            logger: logger,
            reportsOn: reports == .reporter ? QueueReporter() : nil
        )
    }

    @Test("The poll thread carries its name where top -H and perf show it")
    func pollThreadName() async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster)
        func names() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").map {
                (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) ?? ""
            }
        }
        // The thread names itself as it starts.
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while try !names().contains("kafka-poll\n"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let found = try names()
        #expect(found.contains("kafka-poll\n"), "\(found)")
        await producer.shutdown()
    }

    @Test("With a reporter, librdkafka wakes it for each report that lands in an empty queue, and it handles them")
    func reporterWokenByLibrdkafka() async throws {
        let cluster = try MockKafkaCluster()
        let reporter = QueueReporter()
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers),
            logger: logger,
            reportsOn: reporter
        )
        // One at a time: each report finds the queue drained by the one before.
        for number in 0..<20 {
            let result = try await producer.send(KafkaRecord(topic: "woken", key: nil, value: [UInt8(number)])).value()
            #expect((try? result?.get()) != nil)
        }
        #expect(reporter.wakeUps >= 20, "\(reporter.wakeUps) wake-ups for 20 reports")
        await producer.shutdown()
        #expect(producer.outstandingCount == 0)
    }

    @Test("A sent record is acknowledged and reads back with key, value and headers", arguments: Reports.allCases)
    func roundTrip(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster, reports: reports)
        let record = KafkaRecord(
            topic: "roundtrip",
            key: Array("key-1".utf8),
            value: Array(#"{"a":1}"#.utf8),
            headers: [KafkaHeader("ce_id", "req-1"), KafkaHeader(name: "empty", value: nil)]
        )
        let result = try #require(await producer.send(record).value(timeout: .seconds(10)))
        let ack = try result.get()
        #expect(ack.offset == 0)

        let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        let messages = try await consumer.readAll(topic: "roundtrip")
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.partition == ack.partition)
        #expect(message.keyString == "key-1")
        #expect(message.value == record.value)
        #expect(message.header("ce_id") == "req-1")
        #expect(message.headers.contains(KafkaHeader(name: "empty", value: nil)))
        await producer.shutdown()
    }

    @Test(
        "Waiters continue through their resumer, one hand-over for a whole batch of acknowledgements",
        arguments: Reports.allCases
    )
    func batchedResumption(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster, reports: reports)
        // Metadata first, then a slow broker, so every wait below starts before its acknowledgement
        // (1.5 s: in CI, beside other tests on two cores, 300 ms once passed before a waiter ran).
        _ = try #require(await producer.send(KafkaRecord(topic: "batched", key: nil, value: [0])).value()).get()
        try cluster.setRoundTripTime(1500)
        let resumer = CountingResumer()
        let records = 40
        let acknowledged = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<records {
                let future = try producer.send(KafkaRecord(topic: "batched", key: nil, value: Array("\(index)".utf8)))
                group.addTask {
                    let result = await future.value(timeout: .seconds(10), resumingOn: resumer)
                    return (try? result?.get()) != nil
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(acknowledged == records)
        #expect(resumer.executions >= 1, "the waiters continued through the resumer")
        #expect(resumer.executions < records, "\(resumer.executions) hand-overs for \(records) acknowledgements")
        await producer.shutdown()
    }

    @Test("Records with one key land on one partition in send order", arguments: Reports.allCases)
    func keyOrdering(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("ordered", partitions: 4)
        let producer = try makeProducer(on: cluster, reports: reports)
        var futures: [DeliveryFuture] = []
        for index in 0..<20 {
            let key = "doc-\(index % 3)"
            futures.append(
                try producer.send(KafkaRecord(topic: "ordered", key: Array(key.utf8), value: Array("\(index)".utf8)))
            )
        }
        for future in futures { _ = try #require(await future.value(timeout: .seconds(10))).get() }
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers).readAll(topic: "ordered")
        #expect(messages.count == 20)
        for key in ["doc-0", "doc-1", "doc-2"] {
            let ofKey = messages.filter { $0.keyString == key }
            #expect(Set(ofKey.map(\.partition)).count == 1)
            let values = ofKey.map { Int(String(decoding: $0.value ?? [], as: UTF8.self))! }
            #expect(values == values.sorted())
        }
        await producer.shutdown()
    }

    @Test("A broker that is down leaves the record unacknowledged past the caller's wait", arguments: Reports.allCases)
    func brokerDown(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster, reports: reports)
        _ = try #require(
            await producer.send(KafkaRecord(topic: "down", key: nil, value: [1])).value(timeout: .seconds(10))
        )
        try cluster.setBrokerDown()
        let started = ContinuousClock.now
        let future = try producer.send(KafkaRecord(topic: "down", key: nil, value: [2]))
        let waited = await future.value(timeout: .milliseconds(500))
        #expect(waited == nil)
        #expect(ContinuousClock.now - started < .seconds(10), "the wait ends at its timeout, not with the broker")
        try cluster.setBrokerUp()
        let late = try #require(await future.value(timeout: .seconds(20)))
        #expect((try? late.get()) != nil, "the in-flight record is delivered once the broker is back")
        await producer.shutdown()
    }

    @Test("A permanent broker error is reported as permanent", arguments: Reports.allCases)
    func permanentError(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster, reports: reports)
        _ = try #require(
            await producer.send(KafkaRecord(topic: "rejects", key: nil, value: [1])).value(timeout: .seconds(10))
        )
        cluster.pushProduceErrors([.messageSizeTooLarge])
        let result = try #require(
            await producer.send(KafkaRecord(topic: "rejects", key: nil, value: [2])).value(timeout: .seconds(10))
        )
        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.code == .messageSizeTooLarge)
        #expect(error.isPermanent)
        #expect(!error.isRetriable)
        await producer.shutdown()
    }

    @Test("Shutdown purges records that cannot be delivered and fails their futures", arguments: Reports.allCases)
    func shutdownPurges(reports: Reports) async throws {
        let cluster = try MockKafkaCluster()
        let producer = try makeProducer(on: cluster, reports: reports)
        _ = try #require(
            await producer.send(KafkaRecord(topic: "purge", key: nil, value: [1])).value(timeout: .seconds(10))
        )
        try cluster.setBrokerDown()
        let future = try producer.send(KafkaRecord(topic: "purge", key: nil, value: [2]))
        await producer.shutdown(flushTimeout: .milliseconds(300))
        let result = try #require(future.result)
        guard case .failure(let error) = result else {
            Issue.record("expected a purge failure, got \(result)")
            return
        }
        #expect([.purgedFromQueue, .purgedInFlight].contains(error.code))
        #expect(error.isRetriable)
        #expect(throws: KafkaError.self) { try producer.send(KafkaRecord(topic: "purge", key: nil, value: [3])) }
    }

    @Test("Settings that would weaken acknowledgements are refused")
    func enforcedProperties() throws {
        let weak = KafkaProducerConfiguration(bootstrapServers: "localhost:9092", properties: ["acks": "1"])
        #expect(throws: KafkaError.self) { try weak.librdkafkaProperties() }
        let passthrough = KafkaProducerConfiguration(
            bootstrapServers: "localhost:9092",
            properties: ["compression.type": "lz4", "linger.ms": "20"]
        )
        let properties = Dictionary(uniqueKeysWithValues: try passthrough.librdkafkaProperties())
        #expect(properties["compression.type"] == "lz4")
        #expect(properties["linger.ms"] == "20")
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["acks"] == "all")
    }

    @Test("A value as large as the largest accepted body is not refused by librdkafka before a broker sees it")
    func messageSizeFitsLargestValue() async throws {
        func messageMaxBytes(_ configuration: KafkaProducerConfiguration) throws -> String? {
            Dictionary(uniqueKeysWithValues: try configuration.librdkafkaProperties())["message.max.bytes"]
        }
        #expect(try messageMaxBytes(KafkaProducerConfiguration(bootstrapServers: "b:9092")) == nil)
        let fiveMiB = KafkaProducerConfiguration(bootstrapServers: "b:9092", largestValue: 5 << 20)
        #expect(try messageMaxBytes(fiveMiB) == String((5 << 20) + 256 * 1024))
        let small = KafkaProducerConfiguration(bootstrapServers: "b:9092", largestValue: 1024)
        #expect(try messageMaxBytes(small) == "1000000")
        let set = KafkaProducerConfiguration(
            bootstrapServers: "b:9092",
            properties: ["message.max.bytes": "2000000"],
            largestValue: 5 << 20
        )
        #expect(try messageMaxBytes(set) == "2000000")

        let cluster = try MockKafkaCluster()
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                largestValue: 3 << 20
            ),
            logger: logger
        )
        let value = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        let future = try producer.send(KafkaRecord(topic: "large", key: nil, value: value))
        let result = await future.value(timeout: .seconds(30))
        guard case .success = result else {
            Issue.record("a 3 MiB value was not delivered: \(String(describing: result))")
            return
        }
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers).readAll(topic: "large")
        #expect(messages.count == 1)
        #expect(messages.first?.value == value, "the value read back is the value produced, byte for byte")
        await producer.shutdown()
    }
}

extension KafkaProducerTests {
    /// A value that differs from every other record's at every position.
    static func pattern(_ number: Int, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number &* 13) }
    }

    @Test("librdkafka reads a value in place: the producer keeps it until the report, though the caller let go")
    func valueOutlivesCaller() async throws {
        let cluster = try MockKafkaCluster()
        // Records wait half a second in librdkafka's queue, pointing at their values all that time.
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["linger.ms": "500"]
            ),
            logger: logger
        )
        // Values above librdkafka's copy threshold (64 KiB) go into the produce request by reference.
        var futures: [DeliveryFuture] = []
        for number in 0..<16 {
            let record = KafkaRecord(
                topic: "kept",
                key: Array("\(number)".utf8),
                value: Self.pattern(number, size: 150_000)
            )
            futures.append(try producer.send(record))
        }
        // Fresh allocations of the same size, scribbled on, take any memory released too early.
        var scribbles = 0
        for _ in 0..<64 {
            let junk = [UInt8](repeating: 0xEE, count: 150_000)
            scribbles += Int(junk[149_999])
        }
        #expect(scribbles == 64 * 0xEE)
        for future in futures {
            guard case .success = await future.value(timeout: .seconds(30)) else {
                Issue.record("a record was not delivered")
                return
            }
        }
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers).readAll(topic: "kept")
        #expect(messages.count == 16)
        for message in messages {
            let number = try #require(message.keyString.flatMap { Int($0) })
            #expect(message.value == Self.pattern(number, size: 150_000), "record \(number) byte for byte")
        }
        await producer.shutdown()
    }
}

/// Handles delivery reports on a serial queue of its own, as an event loop would.
final class QueueReporter: DeliveryResumer {
    private let queue = DispatchQueue(label: "test-reporter")
    private let count = Locked(0)

    /// How often librdkafka woke the reporter.
    var wakeUps: Int { count.withLock { $0 } }

    func execute(_ work: @escaping @Sendable () -> Void) {
        count.withLock { $0 += 1 }
        queue.async(execute: work)
    }
}

/// Runs what it is handed on a global queue, counting the hand-overs.
final class CountingResumer: DeliveryResumer {
    private let count = Locked(0)

    var executions: Int { count.withLock { $0 } }

    func execute(_ work: @escaping @Sendable () -> Void) {
        count.withLock { $0 += 1 }
        DispatchQueue.global().async(execute: work)
    }
}

@Suite("What the loaded librdkafka can honour")
struct LibrdkafkaCapabilityTests {
    static let debian: Set<String> = [
        "gzip", "snappy", "ssl", "sasl", "regex", "lz4", "sasl_gssapi", "sasl_plain", "sasl_scram", "plugins", "zstd",
        "sasl_oauthbearer",
    ]

    @Test("The linked library reports its features, and every one a secured cluster needs is named")
    func features() {
        #expect(Librdkafka.builtinFeatures.isSuperset(of: ["ssl", "sasl_scram", "sasl_oauthbearer"]))
    }

    @Test("transactional.id, unknown or missing SASL mechanisms, OIDC without curl and TLS without ssl are refused")
    func refusals() {
        let cases: [([String: String], Set<String>, String?)] = [
            (["transactional.id": "x"], Self.debian, "transactional.id"),
            (["sasl.mechanism": "AWS_MSK_IAM"], Self.debian, "sasl.mechanism"),
            (["sasl.mechanisms": "GSSAPI"], Self.debian.subtracting(["sasl_gssapi"]), "sasl.mechanisms"),
            (["sasl.mechanism": "SCRAM-SHA-512"], Self.debian, nil),
            (["sasl.mechanism": "scram-sha-256"], Self.debian, nil),
            (
                ["sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc"], Self.debian,
                "sasl.oauthbearer.method"
            ),
            (
                ["sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc"],
                Self.debian.union(["http", "oidc"]),
                nil
            ),
            (["sasl.mechanism": "OAUTHBEARER"], Self.debian, nil),
            (["security.protocol": "SASL_SSL"], Self.debian.subtracting(["ssl"]), "security.protocol"),
            (["security.protocol": "SASL_SSL"], Self.debian, nil),
        ]
        for (properties, features, refused) in cases {
            let found = KafkaProducerConfiguration.unsupportedProperty(in: properties, features: features)
            #expect(found?.key == refused, "\(properties)")
        }
    }
}

@Suite("Refused connections and config check --connect", .timeLimit(.minutes(1)))
struct KafkaConnectionCheckTests {
    @Test("Failed logins and TLS checks are refusals; outages are not")
    func refusalsAreTold() {
        let refusals: [KafkaError] = [
            KafkaError(code: .authentication, message: "SASL authentication error: broker responded with unknown-user"),
            KafkaError(code: .ssl, message: "SSL handshake failed: certificate verify failed"),
            KafkaError(code: .saslAuthenticationFailed, message: "Authentication failed"),
            KafkaError(
                code: .transport,
                message: "ssl://127.0.0.1:9093/bootstrap: error:0A000086:SSL routines::certificate verify failed"
            ),
            KafkaError(
                code: .transport,
                message: "Receive failed: error:0A00045C:SSL routines::tlsv13 alert certificate required"
            ),
        ]
        let outages: [KafkaError] = [
            KafkaError(code: .transport, message: "Connect to ipv4#127.0.0.1:1 failed: Connection refused"),
            KafkaError(code: .allBrokersDown, message: "1/1 brokers are down"),
            KafkaError(code: .messageTimedOut),
            KafkaError(code: .topicAuthorizationFailed),
        ]
        for error in refusals { #expect(error.isRefusal, "\(error)") }
        for error in outages { #expect(!error.isRefusal, "\(error)") }
    }

    @Test("Against a running cluster the check connects and lists its brokers")
    func connects() throws {
        let cluster = try MockKafkaCluster(brokers: 2)
        let result = KafkaConnectionCheck.run(
            configuration: .init(bootstrapServers: cluster.bootstrapServers),
            timeout: .seconds(10)
        )
        let connected = try result.get()
        #expect(connected.brokers.count == 2, "\(connected.brokers)")
        let listed = Set(cluster.bootstrapServers.split(separator: ",").map(String.init))
        #expect(Set(connected.brokers) == listed)
    }

    @Test("Against a closed port it waits its timeout and says why, not a refusal")
    func unreachable() throws {
        let result = KafkaConnectionCheck.run(
            configuration: .init(bootstrapServers: "127.0.0.1:1"),
            timeout: .seconds(2)
        )
        guard case .failure(let error) = result else {
            Issue.record("connected to a closed port")
            return
        }
        #expect(!error.isRefusal)
        #expect(error.message.contains("Connection refused"), "\(error)")
    }

    @Test("Settings librdkafka refuses are the answer at once")
    func badSettings() {
        let result = KafkaConnectionCheck.run(
            configuration: .init(bootstrapServers: "127.0.0.1:1", properties: ["acks": "1"]),
            timeout: .seconds(10)
        )
        guard case .failure(let error) = result else {
            Issue.record("acks=1 accepted")
            return
        }
        #expect(error.message.contains("acks"), "\(error)")
    }
}

@Suite("OAUTHBEARER tokens from a provider", .serialized, .timeLimit(.minutes(1)))
struct OAuthBearerRefreshTests {
    /// Tokens valid for `lifetime`, each one recorded with when it was asked for.
    final class CountingProvider: OAuthBearerTokenProvider {
        let lifetime: Duration
        let asked = Locked<[ContinuousClock.Instant]>([])
        init(lifetime: Duration) { self.lifetime = lifetime }

        func token() async throws -> OAuthBearerToken {
            let count = asked.withLock { asked in
                asked.append(.now)
                return asked.count
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            return OAuthBearerToken(
                value: "token-\(count)",
                expiresAtMilliseconds: now + lifetime.milliseconds,
                principal: "relay"
            )
        }
    }

    static let properties = ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"]

    @Test("librdkafka asks at start and again before each token expires, and takes what the provider gives")
    func refreshesBeforeExpiry() async throws {
        let cluster = try MockKafkaCluster()
        let provider = CountingProvider(lifetime: .seconds(10))
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: Self.properties),
            logger: Logger(label: "test.oauthbearer") { _ in SwiftLogNoOpLogHandler() },
            tokenProvider: provider
        )
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while provider.asked.withLock({ $0.count }) < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown(flushTimeout: .zero)
        let asked = provider.asked.withLock { $0 }
        try #require(asked.count >= 2, "asked \(asked.count) times in 20 s")
        for (earlier, later) in zip(asked, asked.dropFirst()) {
            // Asked again at 80 % of the 10 s lifetime (on librdkafka's once-a-second timer): before
            // expiry, not in a loop. A token librdkafka refused would be asked for again after 10 s.
            #expect(later - earlier < .seconds(10), "asked again before the token expired")
            #expect(later - earlier > .seconds(5), "not asked again at once")
        }
    }
}
