import Foundation
import Relay
import RelayKafka
import SenderCertificates
import SenderKit
import _CryptoExtras

/// `webhook-relay dev`: an embedded Kafka broker (librdkafka's mock cluster, in memory), a source
/// for every registered sender that has tooling (``SenderTooling``, with a generated secret or key
/// pair; ``CertificateSenderTooling``, with a certificate from a local HTTPS host and its own CA),
/// a relay configured for them, and the lines a user pastes into a second shell.
public struct DevEnvironment: Sendable {
    public let cluster: MockKafkaCluster
    /// The generated secret of each source (named after its sender), in registration order.
    public let secrets: [(source: String, secret: String)]
    public let configuration: RelayConfiguration
    /// Sample bodies written for the try-it lines, by source.
    public let exampleFiles: [String: String]
    /// The private-key files of sources whose sender signs with one (`sign --signing-key-file`).
    public let signingKeyFiles: [String: String]
    /// The stand-in certificate's URL of each source whose sender names its certificate (Amazon
    /// SNS, PayPal), on ``certificateHost`` (`sign --certificate-url`).
    public let certificateURLs: [String: String]
    /// The local HTTPS host serving those certificates, with its own CA; `nil` when no registered
    /// sender names its certificate.
    public let certificateHost: CertificateServer?
    /// The relay's port.
    public var httpPort: Int { configuration.http.port }
    /// The dev sources, in registration order: name and example.
    private let examples: [(source: String, example: SenderExample)]

    /// Starts the embedded broker and builds the configuration.
    /// - Parameters:
    ///   - httpPort: the relay's port; 0 picks a free one now, because the URL, port included, is
    ///     part of some senders' signatures and must be known before the relay starts.
    ///   - environment: the process environment; dev values replace the broker, sources and
    ///     listener settings, other settings (log level…) still apply.
    public init(httpPort: Int, environment: [String: String], senders: SenderRegistry) async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let anyPort = httpPort == 0
        let httpPort = anyPort ? try FreePort.find() : httpPort
        var devEnvironment = environment.filter { variable, _ in
            variable != Setting.configFile.environment
                && !senders.names.contains { variable.hasPrefix(Self.variablePrefix(source: $0)) }
        }
        devEnvironment[Setting.kafkaBootstrapServers.environment] = cluster.bootstrapServers
        devEnvironment[Setting.httpHost.environment] = "127.0.0.1"
        devEnvironment[Setting.httpPort.environment] = String(httpPort)
        devEnvironment[Setting.adminHost.environment] = "127.0.0.1"
        // The admin listener sits next to the webhook port (8081 beside 8080).
        let adminPort = anyPort || httpPort == 65535 ? try FreePort.find() : httpPort + 1
        devEnvironment[Setting.adminPort.environment] = String(adminPort)
        // Even on loopback the admin API gets a token: any local process, and a page in the
        // operator's browser, could otherwise replay the archive.
        if devEnvironment[Setting.adminToken.environment] == nil,
            devEnvironment[Setting.adminTokenFile.environment] == nil
        {
            devEnvironment[Setting.adminToken.environment] =
                "dev-" + RandomText.hex(16)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "webhook-relay-dev-\(UUID().uuidString)"
        )
        if devEnvironment[Setting.bufferPath.environment] == nil {
            devEnvironment[Setting.bufferPath.environment] = directory.appendingPathComponent("buffer").path
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var secrets: [(source: String, secret: String)] = []
        var files: [String: String] = [:]
        var keyFiles: [String: String] = [:]
        var examples: [(source: String, example: SenderExample)] = []
        func writeKey(_ key: String, for source: String) throws {
            let keyFile = directory.appendingPathComponent("\(source).key").path
            guard
                FileManager.default.createFile(
                    atPath: keyFile,
                    contents: Data(key.utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: keyFile]) }
            keyFiles[source] = keyFile
        }
        func addExample(_ example: SenderExample, for source: String) throws {
            for (setting, value) in example.settings {
                devEnvironment[setting.forSource(source).environment] = Self.expand(
                    value,
                    source: source,
                    port: httpPort
                )
            }
            let file = directory.appendingPathComponent("\(source).json")
            try Data(example.body.utf8).write(to: file)
            files[source] = file.path
            examples.append((source, example))
        }
        for sender in senders.senders {
            if let tooled = sender as? any SenderTooling {
                let credentials = tooled.generateCredentials()
                secrets.append((sender.name, credentials.secret))
                devEnvironment[Setting.sourceSecrets.forSource(sender.name).environment] = credentials.secret
                if let signingKey = credentials.signingKey { try writeKey(signingKey, for: sender.name) }
                try addExample(tooled.example, for: sender.name)
            }
        }
        // Senders that name their certificate get one from a local HTTPS host with its own CA.
        let certificateSenders = senders.senders.compactMap { $0 as? any CertificateSenderTooling }
        var certificateURLs: [String: String] = [:]
        var host: CertificateServer?
        if !certificateSenders.isEmpty {
            let started = try await CertificateServer()
            host = started
            for sender in certificateSenders {
                let certificate = try LocalSigningCertificate(
                    authority: started.authority,
                    commonName: sender.certificateSubject
                )
                started.serve(sender.certificatePath, .init(body: certificate.pem))
                try writeKey(certificate.key.pemRepresentation, for: sender.name)
                certificateURLs[sender.name] = started.url(sender.certificatePath)
                for (setting, value) in [
                    (Setting.sourceCertificateURLs, started.url(sender.certificatePrefix)),
                    (.sourceCertificateCAFile, started.caFile), (.sourceCertificatePrivateAddresses, "true"),
                ] {
                    devEnvironment[setting.forSource(sender.name).environment] = value
                }
                try addExample(sender.example, for: sender.name)
            }
        }
        self.cluster = cluster
        self.secrets = secrets
        self.exampleFiles = files
        self.signingKeyFiles = keyFiles
        self.certificateURLs = certificateURLs
        self.certificateHost = host
        self.examples = examples
        self.configuration = try RelayConfiguration.load(environment: devEnvironment, senders: senders)
    }

    /// The relay's URL of `source`.
    static func url(source: String, port: Int) -> String {
        "http://127.0.0.1:\(port)/webhooks/\(source)"
    }

    private static func variablePrefix(source: String) -> String {
        "RELAY_" + source.uppercased().replacingOccurrences(of: "-", with: "_") + "_"
    }

    private static func expand(_ value: String, source: String, port: Int) -> String {
        value.replacingOccurrences(of: "{url}", with: url(source: source, port: port))
    }

    /// What `dev` prints once the relay listens on `port`.
    public func instructions(port: Int, executable: String) -> String {
        var exports = ["export RELAY_KAFKA_BOOTSTRAP_SERVERS=\(cluster.bootstrapServers)"]
        var tries: [String] = []
        for (source, secret) in secrets {
            exports.append("export \(Setting.sourceSecrets.forSource(source).environment)=\(secret)")
        }
        for (source, example) in examples {
            for (setting, value) in example.settings.sorted(by: { $0.key.key < $1.key.key }) {
                exports.append(
                    "export \(setting.forSource(source).environment)=\(Self.expand(value, source: source, port: port))"
                )
            }
            if let url = certificateURLs[source], let host = certificateHost {
                exports.append(
                    "export \(Setting.sourceCertificateURLs.forSource(source).environment)="
                        + String(url.dropLast("dev.pem".count))
                )
                exports.append("export \(Setting.sourceCertificateCAFile.forSource(source).environment)=\(host.caFile)")
                exports.append("export \(Setting.sourceCertificatePrivateAddresses.forSource(source).environment)=true")
            }
            // Quoted only where the shell needs it (GitLab's `Merge Request Hook`).
            let event =
                example.eventType.map { " --event \($0.contains(" ") ? SignedRequest.shellQuoted($0) : $0)" }
                ?? ""
            let file = exampleFiles[source] ?? "\(source).json"
            let key = signingKeyFiles[source].map { " --signing-key-file \($0)" } ?? ""
            let certificate = certificateURLs[source].map { " --certificate-url \($0)" } ?? ""
            tries.append(
                "\(executable) sign --source \(source)\(event)\(key)\(certificate) \(file) | sh    # → \(example.topic)"
            )
        }
        exports.append("export \(Setting.httpPort.environment)=\(port)")
        exports.append("export \(Setting.adminPort.environment)=\(configuration.admin.port)")
        if let token = configuration.admin.token {
            exports.append("export \(Setting.adminToken.environment)=\(token)")
        }
        let first = examples.first?.example.topic ?? "TOPIC"
        return """
            webhook-relay dev is running.
              relay:  \(Self.url(source: "{source}", port: port))  (sources: \(examples.map(\.source).joined(separator: ", ")))
              kafka:  \(cluster.bootstrapServers) (embedded, in memory; librdkafka \(Librdkafka.version))
              buffer: \(configuration.buffer.path)
              console: http://\(configuration.admin.host):\(configuration.admin.port)/  (the admin console; token: \(configuration.admin.token ?? "none"))

            In a second shell:

            \(exports.map { "  " + $0 }.joined(separator: "\n"))

            Send a signed sample event from each sender (the line signs it as that sender does and posts it):

            \(tries.map { "  " + $0 }.joined(separator: "\n"))

            Read one back from Kafka (topic \(first)):

              kcat -b \(cluster.bootstrapServers) -C -t \(first) -e \\
                -f 'key=%k\\nheaders=%h\\nvalue=%s\\n\\n'

            See what the relay holds (buffered, dead and archived events):

              \(executable) buffer status

            Press Ctrl-C to stop (the embedded broker and its data go with it).

            """
    }
}
