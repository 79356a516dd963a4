import Foundation
import Logging
import Relay
import RelayKafka
import RelayPrimitives
import SenderKit
import Senders
import ServiceLifecycle

/// A real relay for tests: the mock Kafka cluster in process, the real HTTP listener on a free
/// loopback port, configured through the same environment variables a deployment uses.
public final class TestRelay: Sendable {
    public let cluster: MockKafkaCluster
    public let application: RelayApplication
    public let port: Int
    /// The admin listener's port.
    public let adminPort: Int
    public let logs: LogCapture
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// The environment every test relay starts from: the signature vectors' secret and URL.
    public static func baseEnvironment(cluster: MockKafkaCluster) -> [String: String] {
        [
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers,
            "RELAY_HTTP_HOST": "127.0.0.1",
            "RELAY_HTTP_PORT": "0",
            "RELAY_DOCUTRAY_SECRETS": SignatureVector.secret,
            "RELAY_DOCUTRAY_WEBHOOK_URL": SignatureVector.webhookURL,
            "RELAY_BUFFER_PATH": temporaryDirectory(prefix: "relay-buffer"),
            "RELAY_ADMIN_PORT": "0",
        ]
    }

    /// A new, empty directory under the system's temporary directory.
    public static func temporaryDirectory(prefix: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts a relay and returns once it accepts connections.
    /// - Parameters:
    ///   - environment: overrides of ``baseEnvironment(cluster:)``.
    ///   - clock: the relay's calendar clock (the vectors need 2024-01-15T10:30:00Z).
    ///   - senders: the senders the relay knows (every sender by default).
    public static func start(
        environment overrides: [String: String] = [:],
        clock: any WallClock = ManualWallClock(unixSeconds: SignatureVector.signedAt),
        cluster: MockKafkaCluster? = nil,
        senders: SenderRegistry = TestSenders.registry
    ) async throws -> TestRelay {
        let cluster = try cluster ?? MockKafkaCluster()
        var environment = baseEnvironment(cluster: cluster)
        environment.merge(overrides) { _, override in override }
        let configuration = try RelayConfiguration.load(environment: environment, senders: senders)
        let logs = LogCapture()
        let (ports, portSink) = AsyncStream.makeStream(of: (RelayApplication.Listener, Int).self)
        let application = try await RelayApplication(configuration: configuration, logger: logs.logger(), clock: clock)
        {
            listener,
            port in
            portSink.yield((listener, port))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: application.services,
                logger: logs.logger(label: "service-group", level: .error)
            )
        )
        let running = Task { try await group.run() }
        var listening: [RelayApplication.Listener: Int] = [:]
        for await (listener, port) in ports {
            listening[listener] = port
            if listening.count == 2 { break }
        }
        guard let port = listening[.ingress], let adminPort = listening[.admin] else {
            running.cancel()
            throw HTTPTestClient.Failure(description: "the relay did not start listening")
        }
        return TestRelay(
            cluster: cluster,
            application: application,
            port: port,
            adminPort: adminPort,
            logs: logs,
            group: group,
            running: running
        )
    }

    private init(
        cluster: MockKafkaCluster,
        application: RelayApplication,
        port: Int,
        adminPort: Int,
        logs: LogCapture,
        group: ServiceGroup,
        running: Task<Void, any Error>
    ) {
        self.cluster = cluster
        self.application = application
        self.port = port
        self.adminPort = adminPort
        self.logs = logs
        self.group = group
        self.running = running
    }

    /// Shuts the relay down gracefully and waits until it has stopped.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// The records librdkafka still holds, once a second has passed or none is left: a request that
    /// starts waiting after its report was handled gets its answer at once, possibly a moment before
    /// librdkafka lets go of the reported message.
    public func settledOutstandingCount() async -> Int {
        let deadline = ContinuousClock.now + .seconds(1)
        while application.producer.outstandingCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return application.producer.outstandingCount
    }

    /// Posts a webhook to `/webhooks/{source}`.
    public func post(
        source: String = "docutray",
        headers: [(String, String)],
        body: [UInt8],
        timeout: Duration = .seconds(30)
    ) async throws -> TestResponse {
        try await HTTPTestClient.send(
            port: port,
            path: "/webhooks/\(source)",
            headers: headers,
            body: body,
            timeout: timeout
        )
    }

    /// A consumer reading the cluster this relay publishes to.
    package func consumer() throws -> KafkaConsumer {
        try KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
    }
}

/// Runs `body` against a started relay and always stops it afterwards.
public func withTestRelay<T: Sendable>(
    environment: [String: String] = [:],
    clock: any WallClock = ManualWallClock(unixSeconds: SignatureVector.signedAt),
    cluster: MockKafkaCluster? = nil,
    _ body: (TestRelay) async throws -> T
) async throws -> T {
    let relay = try await TestRelay.start(environment: environment, clock: clock, cluster: cluster)
    do {
        let result = try await body(relay)
        try await relay.stop()
        return result
    } catch {
        try? await relay.stop()
        throw error
    }
}

/// The senders the tests run with: every registered one, as `webhook-relay` runs.
public enum TestSenders {
    public static let registry = SenderRegistry.all
}

extension RelayConfiguration {
    /// Loads the configuration with every sender, as `webhook-relay` does.
    public static func load(
        environment: [String: String],
        configPath: String? = nil
    ) throws(ConfigurationError) -> RelayConfiguration {
        try load(environment: environment, configPath: configPath, senders: TestSenders.registry)
    }
}

/// Signed Docutray deliveries made on the fly, for tests that need more than the fixed vectors.
public struct DeliveryFactory: Sendable {
    public var signer = DocutraySigner(secret: SignatureVector.secret, webhookURL: SignatureVector.webhookURL)
    public var timestamp: Int64 = SignatureVector.signedAt

    public init() {}

    /// Headers of a correctly signed delivery.
    public func headers(body: [UInt8], event: String, deliveryID: String) -> [(String, String)] {
        signer.headers(body: body, event: event, requestID: deliveryID, timestamp: timestamp).map {
            ($0.name, $0.value)
        }
    }
}
