import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// `webhook-relay serve` as a child process, configured through its environment.
struct RelayProcess {
    let process: ChildProcess
    let port: Int
    let adminPort: Int
    let environment: [String: String]

    static let adminToken = "cli-admin-token-0123456789"

    /// Starts a relay on `buffer` against `cluster` and waits until both listeners accept connections.
    static func start(
        cluster: MockKafkaCluster,
        buffer: String,
        extra: [String: String] = [:],
        removing: [String] = []
    ) async throws -> RelayProcess {
        try await start(bootstrapServers: cluster.bootstrapServers, buffer: buffer, extra: extra, removing: removing)
    }

    /// Starts a relay on `buffer` against the Kafka at `bootstrapServers`.
    /// - Parameter removing: variables the relay must not see (e.g. the default secrets, when a test
    ///   gives them in a file instead).
    static func start(
        bootstrapServers: String,
        buffer: String,
        extra: [String: String] = [:],
        removing: [String] = []
    ) async throws -> RelayProcess {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
        environment.merge([
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": bootstrapServers,
            "RELAY_HTTP_HOST": "127.0.0.1",
            "RELAY_HTTP_PORT": "0",
            "RELAY_ADMIN_PORT": "0",
            "RELAY_ADMIN_TOKEN": adminToken,
            "RELAY_BUFFER_PATH": buffer,
            "RELAY_DOCUTRAY_SECRETS": SignatureVector.secret,
            "RELAY_DOCUTRAY_WEBHOOK_URL": SignatureVector.webhookURL,
            "RELAY_KAFKA_PUBLISH_TIMEOUT": "500ms",
            "RELAY_RETRY_MAX_BACKOFF": "500ms",
            "RELAY_KAFKA_PROPERTY_RECONNECT_BACKOFF_MAX_MS": "300",
        ]) { $1 }
        environment.merge(extra) { $1 }
        for name in removing { environment[name] = nil }
        let process = try ChildProcess(RelayExecutable.path, ["serve"], environment: environment)
        try await process.waitForOutput(containing: "Listening for webhooks", inErrors: true)
        try await process.waitForOutput(containing: "Admin API listening", inErrors: true)
        func port(after marker: String) throws -> Int {
            let line = try #require(process.standardError.split(separator: "\n").first { $0.contains(marker) })
            return try #require(
                line.split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) }
            )
        }
        return RelayProcess(
            process: process,
            port: try port(after: "Listening for webhooks"),
            adminPort: try port(after: "Admin API listening"),
            environment: environment
        )
    }

    /// Posts a correctly signed delivery (timestamped now: the child runs on the real clock), signed
    /// with `secret` (by default the one the relay is started with).
    @discardableResult
    func post(
        _ id: String,
        document: String,
        event: String = "CONVERSION_COMPLETED",
        secret: String = SignatureVector.secret
    ) async throws -> TestResponse {
        try await Self.post(id, document: document, event: event, secret: secret, port: port)
    }

    /// Posts a correctly signed Docutray delivery to whatever listens on `port` (a relay, or a load
    /// balancer in front of relays).
    static func post(
        _ id: String,
        document: String,
        event: String = "CONVERSION_COMPLETED",
        secret: String = SignatureVector.secret,
        port: Int
    ) async throws -> TestResponse {
        var factory = DeliveryFactory()
        factory.signer = DocutraySigner(secret: secret, webhookURL: SignatureVector.webhookURL)
        factory.timestamp = Int64(Date().timeIntervalSince1970)
        let body = Array(#"{"conversion_id":"\#(document)","request":"\#(id)"}"#.utf8)
        return try await HTTPTestClient.send(
            port: port,
            path: "/webhooks/docutray",
            headers: factory.headers(body: body, event: event, deliveryID: id),
            body: body
        )
    }

    /// The environment a CLI command needs to reach this relay's admin API.
    var cliEnvironment: [String: String] {
        environment.merging(["RELAY_ADMIN_PORT": String(adminPort)]) { $1 }
    }
}
