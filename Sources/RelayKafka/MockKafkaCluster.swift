import CRdKafka
import Glibc
import RelayPrimitives

/// An in-process Kafka cluster speaking the real wire protocol on loopback (librdkafka's mock
/// cluster). Used by `webhook-relay dev` and by the tests, which alone may inject faults (`package`
/// access: broker down and up, latency, produce and topic errors); any Kafka client,
/// in this process or another, can connect to ``bootstrapServers``.
///
/// Like a broker with a small retention, each partition keeps only its newest 5 MiB of records
/// (librdkafka's fixed limit): a test that reads a large volume back spreads it over enough partitions.
///
/// `@unchecked Sendable`: the mock cluster runs on its own librdkafka thread and its control
/// functions are safe to call from any thread; the handles never change after `init`.
public final class MockKafkaCluster: @unchecked Sendable {
    private let owner: KafkaClient
    private let cluster: OpaquePointer

    /// The cluster's `host:port` list, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// Brokers set down and not up since, each with the socket that holds its port meanwhile (-1 if
    /// the port could not be held).
    private let down = Locked([Int32: Int32]())

    /// Starts a cluster of `brokers` brokers on random loopback ports.
    public init(brokers: Int = 1) throws(KafkaError) {
        let (owner, cluster) = try Self.withSignalsBlocked { () throws(KafkaError) -> (KafkaClient, OpaquePointer) in
            // The cluster lives inside a client handle; this one only owns it and never produces.
            let owner = try KafkaClient(kind: .producer, properties: [("log_level", "2")])
            guard let cluster = rd_kafka_mock_cluster_new(owner.handle, Int32(brokers)) else {
                throw KafkaError(code: .invalidArgument, message: "could not start the mock Kafka cluster")
            }
            return (owner, cluster)
        }
        self.owner = owner
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        Self.disableNagle(
            listeningOn: Set(
                bootstrapServers.split(separator: ",").compactMap {
                    $0.split(separator: ":").last.flatMap { UInt16($0) }
                }
            )
        )
    }

    /// Sets `TCP_NODELAY` on the brokers' listening sockets (Linux passes it on to the connections
    /// they accept), as Kafka brokers do on theirs. librdkafka's mock brokers leave Nagle's algorithm
    /// on: a small response written while the previous one is unacknowledged then waits for the
    /// client's delayed ACK, 40 ms, which no real broker makes a producer wait.
    private static func disableNagle(listeningOn ports: Set<UInt16>) {
        for descriptor in 0..<Int32(4096) {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0, address.sin_family == sa_family_t(AF_INET),
                ports.contains(UInt16(bigEndian: address.sin_port))
            else { continue }
            var listening: Int32 = 0
            var optionLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optionLength) == 0, listening != 0
            else { continue }
            var on: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        for placeholder in down.withLock({ $0.values }) where placeholder >= 0 { close(placeholder) }
    }

    /// Runs `body` with every signal blocked on this thread, so that the threads it starts
    /// (librdkafka's mock broker thread) inherit a full mask and signals go to the process's other
    /// threads. librdkafka 2.0.2 aborts the process when a signal, such as the SIGCHLD of a child
    /// process exiting, interrupts the mock thread's poll ("Mock cluster failed to poll").
    private static func withSignalsBlocked<T>(_ body: () throws(KafkaError) -> T) throws(KafkaError) -> T {
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }

    /// Creates a topic (topics are otherwise created on first use with the cluster's defaults).
    public func createTopic(_ name: String, partitions: Int = 4, replicationFactor: Int = 1) throws(KafkaError) {
        try check(rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)))
    }

    /// Disconnects a broker and refuses new connections to it until ``setBrokerUp(_:)``.
    ///
    /// librdkafka binds the broker's port anew when it comes up, and aborts the process if that
    /// fails. The port is in the ephemeral range, so while the broker is down anything could take
    /// it: another listener bound to port 0, or a client reconnecting to it that gets it as its own
    /// source port (a TCP self-connect). So a socket holds the port meanwhile: bound with
    /// SO_REUSEADDR and not listening, it keeps the kernel from handing the port out, and the
    /// broker's own listener (SO_REUSEADDR too) binds and listens beside it.
    package func setBrokerDown(_ broker: Int32 = 1) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, broker))
        let ports = Self.ports(of: bootstrapServers)
        guard Int(broker) >= 1, Int(broker) <= ports.count else { return }
        // Should the bind fail (the old listener not closed yet, or the port briefly another
        // socket's), it is retried, so the port is taken the moment it is free, before an outgoing
        // connection gets it as its source port.
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        var placeholder = Self.bind(port: ports[Int(broker) - 1])
        while placeholder < 0, ContinuousClock.now < deadline {
            usleep(500)
            placeholder = Self.bind(port: ports[Int(broker) - 1])
        }
        let previous = down.withLock { $0.updateValue(placeholder, forKey: broker) }
        if let previous, previous >= 0 { close(previous) }
    }

    /// Lets a broker accept connections again.
    ///
    /// If its port could not be held while it was down, this waits up to 5 s for the port to be
    /// free, and throws rather than let librdkafka abort the whole process.
    package func setBrokerUp(_ broker: Int32 = 1) throws(KafkaError) {
        let ports = Self.ports(of: bootstrapServers)
        let placeholder = down.withLock { $0.removeValue(forKey: broker) }
        defer { if let placeholder, placeholder >= 0 { close(placeholder) } }
        if placeholder == -1, Int(broker) >= 1, Int(broker) <= ports.count {
            let port = ports[Int(broker) - 1]
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            var probe = Self.bind(port: port)
            while probe < 0 {
                guard ContinuousClock.now < deadline else {
                    throw KafkaError(
                        code: .invalidArgument,
                        message: "mock broker port \(port) is taken by another socket"
                    )
                }
                usleep(50_000)
                probe = Self.bind(port: port)
            }
            close(probe)
        }
        try check(rd_kafka_mock_broker_set_up(cluster, broker))
    }

    private static func ports(of bootstrapServers: String) -> [UInt16] {
        bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
    }

    /// A socket bound to 127.0.0.1:`port` with SO_REUSEADDR, as the broker's listener binds (so the
    /// old listener's connections in TIME_WAIT do not count), not listening; -1 if the port is taken.
    private static func bind(port: UInt16) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// Delays every response of a broker by `milliseconds` (0 removes the delay).
    package func setRoundTripTime(_ milliseconds: Int, broker: Int32 = 1) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_rtt(cluster, broker, Int32(milliseconds)))
    }

    /// Makes the next produce requests fail, one per code, in order.
    package func pushProduceErrors(_ codes: [KafkaError.Code]) {
        let errors = codes.map(\.cValue)
        errors.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, Self.produceAPIKey, buffer.count, buffer.baseAddress)
        }
    }

    /// Makes every request for `topic` fail with `code` (`nil` clears it).
    package func setTopicError(_ topic: String, _ code: KafkaError.Code?) {
        rd_kafka_mock_topic_set_error(cluster, topic, (code ?? KafkaError.Code(rawValue: 0)).cValue)
    }

    /// The Kafka protocol's API key of ProduceRequest.
    private static let produceAPIKey: Int16 = 0

    private func check(_ err: rd_kafka_resp_err_t) throws(KafkaError) {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: KafkaError.Code(err)) }
    }
}
