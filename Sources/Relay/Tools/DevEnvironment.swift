import Foundation
import RelayKafka

/// `webhook-relay dev`: an embedded Kafka broker (librdkafka's mock cluster, in memory), a generated
/// secret, and a relay configured for both, plus the lines a user pastes into a second shell.
public struct DevEnvironment: Sendable {
    public let cluster: MockKafkaCluster
    public let secret: String
    public let configuration: RelayConfiguration
    /// The relay's port.
    public var httpPort: Int { configuration.http.port }

    /// Starts the embedded broker and builds the configuration.
    /// - Parameters:
    ///   - httpPort: the relay's port; 0 picks a free one now, because the URL, port included, is
    ///     part of the auth signature and must be known before the relay starts.
    ///   - environment: the process environment; dev values replace the broker, secret, URL and
    ///     listener settings, other settings (log level…) still apply.
    public init(httpPort: Int, environment: [String: String]) throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let anyPort = httpPort == 0
        let httpPort = anyPort ? try FreePort.find() : httpPort
        let secret = "whsec_dev_" + Hex.encode((0..<12).map { _ in UInt8.random(in: 0...255) })
        var devEnvironment = environment.filter {
            !$0.key.hasPrefix("RELAY_DOCUTRAY_") && $0.key != Setting.configFile.environment
        }
        devEnvironment[Setting.kafkaBootstrapServers.environment] = cluster.bootstrapServers
        devEnvironment[Setting.httpHost.environment] = "127.0.0.1"
        devEnvironment[Setting.httpPort.environment] = String(httpPort)
        devEnvironment[Setting.adminHost.environment] = "127.0.0.1"
        // The admin listener sits next to the webhook port (8081 beside 8080).
        let adminPort = anyPort || httpPort == 65535 ? try FreePort.find() : httpPort + 1
        devEnvironment[Setting.adminPort.environment] = String(adminPort)
        if devEnvironment[Setting.bufferPath.environment] == nil {
            let buffer = FileManager.default.temporaryDirectory.appendingPathComponent(
                "webhook-relay-dev-\(UUID().uuidString)"
            )
            devEnvironment[Setting.bufferPath.environment] = buffer.path
        }
        let docutray = RelayConfiguration.Source.Scheme.docutray.rawValue
        devEnvironment[Setting.sourceSecrets.forSource(docutray).environment] = secret
        devEnvironment[Setting.sourceWebhookURL.forSource(docutray).environment] = Self.webhookURL(port: httpPort)
        self.cluster = cluster
        self.secret = secret
        self.configuration = try RelayConfiguration.load(environment: devEnvironment)
    }

    static func webhookURL(port: Int) -> String {
        "http://127.0.0.1:\(port)/webhooks/docutray"
    }

    /// What `dev` prints once the relay listens on `port`.
    public func instructions(port: Int, executable: String) -> String {
        let url = Self.webhookURL(port: port)
        let sample = #"{"conversion_id":"clm_demo_001","status":"SUCCESS","data":{"invoiceNumber":"INV-1"}}"#
        return """
            webhook-relay dev is running.
              relay:  \(url)
              kafka:  \(cluster.bootstrapServers) (embedded, in memory; librdkafka \(Librdkafka.version))
              buffer: \(configuration.buffer.path)

            In a second shell:

              export RELAY_KAFKA_BOOTSTRAP_SERVERS=\(cluster.bootstrapServers)
              export RELAY_DOCUTRAY_SECRETS=\(secret)
              export RELAY_DOCUTRAY_WEBHOOK_URL=\(url)
              export RELAY_ADMIN_PORT=\(configuration.admin.port)

            Send a signed CONVERSION_COMPLETED event:

              echo '\(sample)' > event.json
              \(executable) sign --event CONVERSION_COMPLETED event.json | sh

            Read it back from Kafka (topic docutray.conversion.completed):

              kcat -b \(cluster.bootstrapServers) -C -t docutray.conversion.completed -e \\
                -f 'key=%k\\nheaders=%h\\nvalue=%s\\n\\n'

            See what the relay holds (buffered, dead and archived events):

              \(executable) buffer status

            Press Ctrl-C to stop (the embedded broker and its data go with it).

            """
    }
}
