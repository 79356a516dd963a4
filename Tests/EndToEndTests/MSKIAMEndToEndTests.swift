import Foundation
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import Testing

/// `kafka.aws_msk_iam` in a running relay: librdkafka asks for a token at start, the relay fetches
/// credentials through AWS's chain (here a stand-in for the instance metadata service) and signs
/// one. No broker here speaks MSK IAM (the mock cluster has no SASL, Tansu no OAUTHBEARER), so what
/// is shown is the relay's side: credentials fetched, token handed to librdkafka, failures told.
@Suite("Amazon MSK IAM in a running relay", .serialized)
struct MSKIAMEndToEndTests {
    /// Whatever AWS settings the test machine has, blanked (empty counts as unset).
    static let noAmbientCredentials = [
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
    ]

    @Test(
        "At start the relay fetches instance-metadata credentials and hands librdkafka a token; config check shows the setting",
        .timeLimit(.minutes(1))
    )
    func tokenAtStart() async throws {
        let imds = try await StandInServer { request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"): (200, "imds-session")
            case ("GET", "/latest/meta-data/iam/security-credentials/"): (200, "kafka-writer")
            case ("GET", "/latest/meta-data/iam/security-credentials/kafka-writer"):
                (
                    200,
                    #"{"Code":"Success","AccessKeyId":"ASIAINSTANCE","SecretAccessKey":"instance-secret","Token":"t","Expiration":"\#(RFC3339.format(unixSeconds: Int64(Date().timeIntervalSince1970) + 3600))"}"#
                )
            default: (404, "")
            }
        }
        let cluster = try MockKafkaCluster()
        let extra = Self.noAmbientCredentials.merging([
            "RELAY_KAFKA_AWS_MSK_IAM_REGION": "eu-west-1",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
            "RELAY_KAFKA_WARMUP_TIMEOUT": "1s",
        ]) { $1 }

        let check = try await Self.configCheck(["--connect", "--connect-timeout", "2"], cluster: cluster, extra: extra)
        #expect(check.stdout.contains("kafka.aws_msk_iam.region: eu-west-1"), "\(check.stdout)")
        #expect(check.stdout.contains("security.protocol") && check.stdout.contains("SASL_SSL"), "\(check.stdout)")
        #expect(
            check.stdout.contains("AWS credentials: instance metadata (ASIAINSTANCE)"),
            "config check --connect says which credentials IAM signs with: \(check.stdout)"
        )
        // The mock cluster speaks neither TLS nor SASL: the sign-in itself cannot succeed here.
        #expect(check.status == 69)
        let asked = imds.received.count

        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-msk-iam"),
            extra: extra
        )
        defer { relay.process.signal(SIGKILL) }
        try await relay.process.waitForOutput(containing: "Kafka OAUTHBEARER token refreshed", inErrors: true)
        #expect(
            imds.received.dropFirst(asked).map { "\($0.method) \($0.path)" } == [
                "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                "GET /latest/meta-data/iam/security-credentials/kafka-writer",
            ]
        )
        #expect(!relay.process.standardError.contains("instance-secret"), "the secret key is never logged")
        await imds.stop()
    }

    @Test("Without credentials anywhere the relay logs why, naming each source", .timeLimit(.minutes(1)))
    func noCredentials() async throws {
        let cluster = try MockKafkaCluster()
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-msk-iam-none"),
            extra: Self.noAmbientCredentials.merging([
                "RELAY_KAFKA_AWS_MSK_IAM_REGION": "eu-west-1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "RELAY_KAFKA_WARMUP_TIMEOUT": "1s",
            ]) { $1 }
        )
        defer { relay.process.signal(SIGKILL) }
        try await relay.process.waitForOutput(containing: "Could not make a Kafka OAUTHBEARER token", inErrors: true)
        let check = try await Self.configCheck(
            ["--connect"],
            cluster: cluster,
            extra: Self.noAmbientCredentials.merging([
                "RELAY_KAFKA_AWS_MSK_IAM_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true",
            ]) { $1 }
        )
        #expect(check.status == 69)
        #expect(check.stdout.contains("AWS credentials: none (no AWS credentials:"), "\(check.stdout)")
        let log = relay.process.standardError
        for reason in ["no AWS credentials", "AWS_ACCESS_KEY_ID is not set", "AWS_EC2_METADATA_DISABLED is true"] {
            #expect(log.contains(reason), "\(reason) in the log")
        }
    }

    static func configCheck(
        _ arguments: [String],
        cluster: MockKafkaCluster,
        extra: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(
            RelayExecutable.path,
            ["config", "check"] + arguments,
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
                .merging(extra) { $1 }
                .merging([
                    "RELAY_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers,
                    "RELAY_DOCUTRAY_SECRETS": SignatureVector.secret,
                    "RELAY_DOCUTRAY_WEBHOOK_URL": SignatureVector.webhookURL,
                ]) { $1 }
        )
    }
}
