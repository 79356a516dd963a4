import Foundation
import Logging
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("Topic creation and TLS", .serialized, .timeLimit(.minutes(2)))
struct TopicsAndTLSTests {
    @Test("With RELAY_KAFKA_CREATE_TOPICS the relay asks Kafka to create its topics and reports each failure")
    func createTopics() async throws {
        // librdkafka 2.0.2's mock cluster has no controller, so CreateTopics cannot succeed against it:
        // this checks the request is made for every topic and that a failure is reported, not fatal.
        let environment = [
            "RELAY_KAFKA_CREATE_TOPICS": "true",
            "RELAY_KAFKA_TOPIC_PARTITIONS": "3",
            "RELAY_KAFKA_TOPIC_REPLICATION_FACTOR": "1",
            "RELAY_KAFKA_WARMUP_TIMEOUT": "2s",
        ]
        try await withTestRelay(environment: environment) { relay in
            let failures = relay.logs.entries.filter { $0.message == "Could not create a Kafka topic" }
            let created =
                relay.logs.entries.first { $0.message == "Created Kafka topics" }?.metadata["kafka.topics.created"]
                ?? ""
            let reported = Set(
                failures.compactMap { $0.metadata["topic"] } + created.split(separator: ",").map(String.init)
            )
            #expect(reported.contains("docutray.step.failed"))
            #expect(reported.contains("docutray.deadletter"))
            #expect(reported.count == 10, "nine event topics and the dead-letter topic: \(reported.sorted())")
            let vector = try #require(try SignatureVector.all().first { $0.event == "STEP_FAILED" })
            #expect(try await relay.post(headers: vector.headerList, body: vector.bodyBytes).status == 202)
        }
    }

    @Test("Missing topics with creation off are reported clearly at start")
    func missingTopics() async throws {
        let cluster = try MockKafkaCluster()
        cluster.setTopicError("docutray.conversion.completed", .unknownTopicOrPartition)
        try await withTestRelay(environment: ["RELAY_KAFKA_WARMUP_TIMEOUT": "1s"], cluster: cluster) { relay in
            let report = try #require(relay.logs.entries.first { $0.message.hasPrefix("Kafka topics are missing") })
            #expect(report.level == .error)
            #expect(report.message.contains("RELAY_KAFKA_CREATE_TOPICS"))
            #expect(report.metadata["kafka.topics.missing"] == "docutray.conversion.completed")
            #expect(report.metadata["kafka.topics.ready"] == "9/10")
        }
    }

    @Test("With a certificate and key the webhook listener speaks HTTPS, TLS 1.2 or newer")
    func tls() async throws {
        let directory = TestRelay.temporaryDirectory(prefix: "relay-tls")
        let key = directory + "/key.pem"
        let certificate = directory + "/cert.pem"
        let openssl = try await ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                "-subj", "/CN=127.0.0.1",
            ]
        )
        #expect(openssl.status == 0, "\(openssl.stderr)")
        try await withTestRelay(environment: ["RELAY_HTTP_TLS_CERTIFICATE": certificate, "RELAY_HTTP_TLS_KEY": key]) {
            relay in
            let https = try await ChildProcess.run(
                "/usr/bin/curl",
                ["-sk", "-o", "-", "-w", "\n%{http_code}", "https://127.0.0.1:\(relay.port)/healthz"]
            )
            #expect(https.stdout.hasSuffix("\n200"), "\(https.stdout) \(https.stderr)")
            let vector = try #require(try SignatureVector.all().first)
            var arguments = [
                "-sk", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                "https://127.0.0.1:\(relay.port)/webhooks/docutray",
            ]
            for (name, value) in vector.headerList { arguments += ["-H", "\(name): \(value)"] }
            arguments += ["--data-binary", vector.body]
            let webhook = try await ChildProcess.run("/usr/bin/curl", arguments)
            #expect(webhook.stdout.hasSuffix("\n202"), "\(webhook.stdout)")
            // Plain HTTP on the TLS port gets no HTTP answer.
            let plain = try? await HTTPTestClient.send(
                port: relay.port,
                method: "GET",
                path: "/healthz",
                timeout: .seconds(5)
            )
            #expect(plain?.status != 200)

            // TLS 1.2 is the oldest protocol the listener speaks: a client offering only TLS 1.1 (with
            // its own security level lowered so that it does offer it) gets a protocol_version alert.
            func handshake(_ version: String) async throws -> (status: Int32, stdout: String, stderr: String) {
                try await ChildProcess.run(
                    "/usr/bin/openssl",
                    [
                        "s_client", "-connect", "127.0.0.1:\(relay.port)", version, "-cipher", "DEFAULT:@SECLEVEL=0",
                        "-brief",
                    ],
                    stdin: [],
                    timeout: .seconds(20)
                )
            }
            let old = try await handshake("-tls1_1")
            #expect(old.status != 0)
            #expect(old.stderr.contains("protocol version"), "\(old.stderr)")
            let current = try await handshake("-tls1_2")
            #expect(current.status == 0, "\(current.stderr)")
            #expect(current.stderr.contains("Protocol version: TLSv1.2"), "\(current.stderr)")
        }
    }
}
