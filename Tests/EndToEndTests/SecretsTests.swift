import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The relay as its operators run it, logging at trace level: no signing secret, admin token or
/// Kafka password appears in anything it writes or answers.
@Suite("Secrets never leak", .serialized, .timeLimit(.minutes(3)))
struct SecretsTests {
    @Test("Secrets, the admin token and Kafka passwords are in no log line, CLI output or answer, even at trace level")
    func neverWrittenOrAnswered() async throws {
        let cluster = try MockKafkaCluster()
        let rotated = "whsec_rotated_secret_4b1d9e7c"
        let kafkaPassword = "kafka-sasl-password-8c2f51"
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-secrets"),
            extra: [
                "RELAY_LOG_LEVEL": "trace",
                "RELAY_DOCUTRAY_SECRETS": "\(SignatureVector.secret),\(rotated)",
                "RELAY_KAFKA_PROPERTY_SASL_PASSWORD": kafkaPassword,
            ]
        )
        defer { if relay.process.isRunning { relay.process.signal(SIGKILL) } }
        let secrets = [SignatureVector.secret, rotated, RelayProcess.adminToken, kafkaPassword]

        var answers: [TestResponse] = []
        answers.append(try await relay.post("req_secret_ok", document: "doc-1"))
        #expect(answers.last?.status == 202)

        let body = Array(#"{"conversion_id":"doc-2"}"#.utf8)
        var impostor = DeliveryFactory()
        impostor.signer = DocutraySigner(secret: "not-the-secret-0000", webhookURL: SignatureVector.webhookURL)
        impostor.timestamp = Int64(Date().timeIntervalSince1970)
        let forged = impostor.headers(body: body, event: "CONVERSION_COMPLETED", deliveryID: "req_secret_forged")
        // A confused sender that puts the secret itself where the signature belongs.
        let confused = forged.map { $0.0 == "x-docutray-signature" ? ($0.0, "sha256=\(SignatureVector.secret)") : $0 }
        for headers in [forged, confused] {
            answers.append(
                try await HTTPTestClient.send(
                    port: relay.port,
                    path: "/webhooks/docutray",
                    headers: headers,
                    body: body
                )
            )
            #expect(answers.last?.status == 401)
        }

        for (path, token) in [
            ("/admin/buffer", nil), ("/admin/buffer", "wrong-token-0123456789"),
            ("/admin/buffer", RelayProcess.adminToken), ("/metrics", RelayProcess.adminToken),
            ("/admin/buffer/records?state=archived", RelayProcess.adminToken),
        ] {
            answers.append(
                try await HTTPTestClient.send(
                    port: relay.adminPort,
                    method: "GET",
                    path: path,
                    headers: token.map { [("authorization", "Bearer \($0)")] } ?? []
                )
            )
            #expect(answers.last?.status == (token == RelayProcess.adminToken ? 200 : 401), "\(path)")
        }

        let check = try await ChildProcess.run(
            RelayExecutable.path,
            ["config", "check"],
            environment: relay.environment
        )
        #expect(check.status == 0, "\(check.stderr)")
        relay.process.signal(SIGTERM)
        #expect(await relay.process.waitForExit(timeout: .seconds(30)) == 0)

        let logs = relay.process.standardError + relay.process.standardOutput
        #expect(logs.contains("secrets=<2 redacted>"), "the configuration, secrets included, was in scope of the log")
        #expect(logs.contains("Accepted webhook"), "logging ran at its most verbose")
        #expect(check.stdout.contains("<redacted>"))
        let written =
            [logs, check.stdout, check.stderr]
            + answers.map { answer in
                answer.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n" + answer.bodyText
            }
        for secret in secrets {
            for text in written { #expect(!text.contains(secret), "leaked: \(text.prefix(300))") }
        }
    }
}
