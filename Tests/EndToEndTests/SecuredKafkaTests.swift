import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RelayTools
import SenderKit
import Testing

/// The relay against a Kafka that checks who connects: Tansu behind HAProxy, which terminates TLS
/// with a certificate from a CA made for the test (and, for mutual TLS, requires a client
/// certificate from a second one); Tansu advertises HAProxy's address, so every connection,
/// bootstrap and broker alike, goes through TLS. Tansu 0.6 accepts `--cert` and `--key` but
/// cannot take both (its argument parser refuses the pair) and with `--cert` alone still speaks
/// plaintext, hence the proxy. SASL/SCRAM is Tansu's own (`--authentication`); see
/// ``refusals(_:)`` for why only its refusal can be tested. `make test-compat` runs these (Tansu
/// and a current librdkafka; Debian's 2.0.2 cannot read Tansu's ApiVersions answer).
@Suite(
    "Secured Kafka: TLS, mutual TLS and SCRAM against a broker that checks them",
    .serialized,
    .enabled(if: TansuBroker.binary != nil, "TANSU_BINARY names the Tansu broker (make test-compat)")
)
struct SecuredKafkaTests {
    @Test(
        "Mutual TLS: config check --connect says connected, the relay publishes, a consumer over TLS reads every record",
        .timeLimit(.minutes(2))
    )
    func mutualTLSPublishes() async throws {
        let broker = try await SecuredBroker.start(requireClientCertificate: true)
        defer { broker.stop() }
        let settings = broker.properties(clientCertificate: true)

        let check = try await Self.configCheck(broker: broker, settings: settings)
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("Kafka: connected to \(broker.bootstrapServers)"), "\(check.stdout)")

        let relay = try await RelayProcess.start(
            bootstrapServers: broker.bootstrapServers,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-mtls"),
            extra: Self.environment(settings).merging(["RELAY_KAFKA_CREATE_TOPICS": "true"]) { $1 }
        )
        defer { relay.process.signal(SIGKILL) }
        try await relay.process.waitForOutput(containing: "topics ready", inErrors: true)
        let ids = (0..<5).map { "req_mtls_\($0)" }
        for id in ids {
            let answer = try await relay.post(id, document: id)
            #expect(answer.status == 202 && answer.bodyText.contains(#""published""#), "\(answer.bodyText)")
        }
        let messages = try await KafkaConsumer(bootstrapServers: broker.bootstrapServers, properties: settings)
            .waitForMessages(topic: "docutray.conversion.completed", count: ids.count, timeout: .seconds(30))
        #expect(messages.compactMap { $0.header("ce_id") }.sorted() == ids)
        #expect(try await Self.readiness(relay) == 200)
    }

    /// What the broker refuses, and what the relay is then given to fix it (nil: nothing the relay
    /// can change; the broker's certificate or user list must).
    enum Refusal: String, CaseIterable, CustomTestStringConvertible {
        case untrustedCertificateAuthority
        case otherServerName
        case noClientCertificate
        case unknownSCRAMUser

        var testDescription: String { rawValue }

        /// Text `config check --connect` and the relay's log must show.
        var cause: String {
            switch self {
            case .untrustedCertificateAuthority, .otherServerName: "certificate verify failed"
            case .noClientCertificate: "certificate required"
            case .unknownSCRAMUser: "unknown-user"
            }
        }
    }

    /// Each refusal: `config check --connect` exits 69 naming it; the relay starts anyway, logs it
    /// once, answers `/readyz` 503 and buffers what arrives (202). Where the relay's own settings were
    /// wrong, fixing them and restarting on the same buffer publishes every buffered event once.
    /// Where the broker's certificate was wrong, replacing it is enough: the relay notices by itself,
    /// with nothing buffered to prove it, and is ready and publishing again.
    ///
    /// SCRAM: Tansu 0.6 keeps users only in its storage, and none of the storages in its wheel keeps
    /// them for a broker started with `--authentication`: `tansu user create` needs a broker without
    /// it (which refuses SASL handshakes: "Unsupported SASL mechanism"), memory storage forgets the
    /// user when that broker stops, S3 storage (tried with moto's S3) writes no credential object,
    /// and PostgreSQL storage is not compiled in ("FeatureNotEnabled"). So a SCRAM login that Tansu
    /// accepts cannot be had; what is tested is the real SCRAM-SHA-512 exchange over TLS ending in
    /// Tansu's refusal, and what the relay does about it.
    @Test(
        "A refused connection: config check --connect names it, /readyz is 503, deliveries are buffered, and published once it is fixed",
        .timeLimit(.minutes(3)),
        arguments: Refusal.allCases
    )
    func refusals(_ refusal: Refusal) async throws {
        let broker = try await SecuredBroker.start(
            serverName: refusal == .otherServerName ? "kafka.other.example" : "localhost",
            requireClientCertificate: refusal == .noClientCertificate,
            authentication: refusal == .unknownSCRAMUser
        )
        defer { broker.stop() }
        var wrong = broker.properties(clientCertificate: false)
        var fixed: [String: String]?
        switch refusal {
        case .untrustedCertificateAuthority:
            let stranger = TestRelay.temporaryDirectory(prefix: "relay-stranger-ca") + "/ca.pem"
            try LocalCertificateAuthority(commonName: "a CA the broker does not use").pem
                .write(toFile: stranger, atomically: true, encoding: .utf8)
            fixed = wrong
            wrong["ssl.ca.location"] = stranger
        case .otherServerName:
            break
        case .noClientCertificate:
            fixed = broker.properties(clientCertificate: true)
        case .unknownSCRAMUser:
            wrong["security.protocol"] = "SASL_SSL"
            wrong["sasl.mechanism"] = "SCRAM-SHA-512"
            wrong["sasl.username"] = "relay"
            wrong["sasl.password"] = "not-a-password-tansu-knows"
        }

        let check = try await Self.configCheck(broker: broker, settings: wrong)
        #expect(check.status == 69, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("\(broker.bootstrapServers) refused the connection"), "\(check.stdout)")
        #expect(check.stdout.contains(refusal.cause), "\(check.stdout)")
        #expect(!check.stdout.contains("not-a-password"), "the password is never printed")

        let buffer = TestRelay.temporaryDirectory(prefix: "relay-refused")
        let relay = try await RelayProcess.start(
            bootstrapServers: broker.bootstrapServers,
            buffer: buffer,
            extra: Self.environment(wrong).merging(["RELAY_KAFKA_WARMUP_TIMEOUT": "2s"]) { $1 }
        )
        defer { relay.process.signal(SIGKILL) }
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while try await Self.readiness(relay) != 503 {
            #expect(ContinuousClock.now < deadline, "/readyz turns 503 once Kafka refuses the relay")
            guard ContinuousClock.now < deadline else { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let ids = (0..<3).map { "req_refused_\(refusal.rawValue)_\($0)" }
        if refusal == .otherServerName {
            // Fixed on the broker's side, nothing buffered: the relay must notice by itself that
            // Kafka accepts it again (nothing else would: it is out of rotation).
            try await broker.replaceCertificate(serverName: "localhost")
            let recovered = ContinuousClock.now.advanced(by: .seconds(20))
            while try await Self.readiness(relay) != 200 {
                #expect(ContinuousClock.now < recovered, "/readyz is 200 again once the broker's certificate is right")
                guard ContinuousClock.now < recovered else { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(relay.process.standardError.contains("Kafka accepts the connection again"))
            for id in ids {
                let answer = try await relay.post(id, document: id)
                #expect(answer.status == 202 && answer.bodyText.contains(#""published""#), "\(answer.bodyText)")
            }
            return
        }
        for id in ids {
            let answer = try await relay.post(id, document: id)
            #expect(answer.status == 202 && answer.bodyText.contains(#""buffered""#), "\(answer.bodyText)")
        }
        let log = relay.process.standardError
        let refusedLines = log.split(separator: "\n").filter { $0.contains("Kafka refused the connection;") }
        #expect(refusedLines.count == 1, "logged once, not on every reconnect: \(refusedLines)")
        #expect(log.contains(refusal.cause), "the log names the cause")
        #expect(!log.contains("not-a-password"), "the password is never logged")

        guard let fixed else { return }
        relay.process.signal(SIGTERM)
        #expect(await relay.process.waitForExit() == 0)
        let restarted = try await RelayProcess.start(
            bootstrapServers: broker.bootstrapServers,
            buffer: buffer,
            extra: Self.environment(fixed).merging(["RELAY_KAFKA_CREATE_TOPICS": "true"]) { $1 }
        )
        defer { restarted.process.signal(SIGKILL) }
        let messages = try await KafkaConsumer(bootstrapServers: broker.bootstrapServers, properties: fixed)
            .waitForMessages(topic: "docutray.conversion.completed", count: ids.count, timeout: .seconds(30))
        #expect(messages.compactMap { $0.header("ce_id") }.sorted() == ids, "each buffered event published once")
        #expect(try await Self.readiness(restarted) == 200)
    }

    /// librdkafka properties as the relay's `RELAY_KAFKA_PROPERTY_*` variables.
    static func environment(_ properties: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: properties.map { (Setting.kafkaPropertyVariable($0.key), $0.value) })
    }

    static func configCheck(
        broker: SecuredBroker,
        settings: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
        environment.merge(Self.environment(settings)) { $1 }
        environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrapServers
        environment["RELAY_BUFFER_PATH"] = TestRelay.temporaryDirectory(prefix: "relay-check")
        environment["RELAY_DOCUTRAY_SECRETS"] = SignatureVector.secret
        environment["RELAY_DOCUTRAY_WEBHOOK_URL"] = SignatureVector.webhookURL
        return try await ChildProcess.run(
            RelayExecutable.path,
            ["config", "check", "--connect", "--connect-timeout", "15"],
            environment: environment
        )
    }

    static func readiness(_ relay: RelayProcess) async throws -> Int {
        try await HTTPTestClient.send(port: relay.adminPort, method: "GET", path: "/readyz").status
    }
}

/// Tansu on a loopback port behind HAProxy, which terminates TLS on another; Tansu advertises
/// `localhost` and HAProxy's port, so clients reach it only through TLS.
final class SecuredBroker {
    let tansu: ChildProcess
    private(set) var proxy: ChildProcess
    let port: Int
    let directory: String
    let authority: LocalCertificateAuthority
    var bootstrapServers: String { "localhost:\(port)" }

    init(tansu: ChildProcess, proxy: ChildProcess, port: Int, directory: String, authority: LocalCertificateAuthority) {
        self.tansu = tansu
        self.proxy = proxy
        self.port = port
        self.directory = directory
        self.authority = authority
    }

    static func start(
        serverName: String = "localhost",
        requireClientCertificate: Bool = false,
        authentication: Bool = false
    ) async throws -> SecuredBroker {
        let directory = TestRelay.temporaryDirectory(prefix: "relay-secured-kafka")
        func write(_ text: String, _ name: String) throws {
            try (text + "\n").write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        let authority = try LocalCertificateAuthority(commonName: "test Kafka CA")
        let server = try LocalTLSIdentity(authority: authority, dnsName: serverName)
        try write(authority.pem, "ca.pem")
        try write(server.certificatePEM + "\n" + server.keyPEM, "server.pem")
        let clientAuthority = try LocalCertificateAuthority(commonName: "test Kafka client CA")
        let client = try LocalTLSIdentity(authority: clientAuthority, dnsName: "webhook-relay")
        try write(clientAuthority.pem, "client-ca.pem")
        try write(client.certificatePEM, "client.pem")
        try write(client.keyPEM, "client.key")

        let internalURL = "tcp://127.0.0.1:\(try FreePort.find())"
        let port = try FreePort.find()
        let tansu = try ChildProcess(
            try #require(TansuBroker.binary),
            [
                "broker", "--listener-url", internalURL, "--advertised-listener-url", "tcp://localhost:\(port)",
                "--storage-engine", "memory://tansu/",
            ] + (authentication ? ["--authentication"] : [])
        )
        try await tansu.waitForOutput(containing: "ready in")
        let verify = requireClientCertificate ? " verify required ca-file \(directory)/client-ca.pem" : ""
        try write(
            """
            global
              log stderr format raw local0 info
            defaults
              mode tcp
              log global
              option tcplog
              timeout connect 5s
              timeout client 60s
              timeout server 60s
            frontend kafka
              bind 127.0.0.1:\(port) ssl crt \(directory)/server.pem\(verify)
              default_backend tansu
            backend tansu
              server tansu \(internalURL.dropFirst("tcp://".count))

            """,
            "haproxy.cfg"
        )
        let broker = SecuredBroker(
            tansu: tansu,
            proxy: try await startProxy(directory: directory, port: port),
            port: port,
            directory: directory,
            authority: authority
        )
        return broker
    }

    /// HAProxy with `directory`'s configuration, once it accepts connections on `port`.
    private static func startProxy(directory: String, port: Int) async throws -> ChildProcess {
        let proxy = try ChildProcess("/usr/sbin/haproxy", ["-db", "-f", "\(directory)/haproxy.cfg"])
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while !Self.accepts(port: port) {
            guard proxy.isRunning, ContinuousClock.now < deadline else {
                proxy.signal(SIGKILL)
                throw HTTPTestClient.Failure(description: "HAProxy did not start: \(proxy.standardError.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return proxy
    }

    /// The broker's side of a fix: a new server certificate for `serverName` from the same CA, and
    /// HAProxy restarted on the same port with it.
    func replaceCertificate(serverName: String) async throws {
        let server = try LocalTLSIdentity(authority: authority, dnsName: serverName)
        try (server.certificatePEM + "\n" + server.keyPEM + "\n")
            .write(toFile: "\(directory)/server.pem", atomically: true, encoding: .utf8)
        proxy.signal(SIGKILL)
        _ = await proxy.waitForExit()
        proxy = try await Self.startProxy(directory: directory, port: port)
    }

    /// librdkafka settings that trust the broker's CA (and present the client certificate).
    func properties(clientCertificate: Bool) -> [String: String] {
        var properties = [
            "security.protocol": "SSL",
            "ssl.ca.location": "\(directory)/ca.pem",
            // HAProxy listens on 127.0.0.1 only; `localhost` may resolve to ::1 first.
            "broker.address.family": "v4",
        ]
        if clientCertificate {
            properties["ssl.certificate.location"] = "\(directory)/client.pem"
            properties["ssl.key.location"] = "\(directory)/client.key"
        }
        return properties
    }

    /// Whether a TCP connection to `port` on 127.0.0.1 is accepted.
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    func stop() {
        proxy.signal(SIGKILL)
        tansu.signal(SIGKILL)
    }
}
