import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Answers decided before the body is read (413, 404, 405, 415) reach the clients senders use,
/// including those that write the whole body before reading and send `Connection: close`: the relay
/// answers, then reads and throws away the rest of the body. Run against `webhook-relay serve`, so
/// its memory can be watched.
@Suite("Early answers reach every client", .serialized, .timeLimit(.minutes(5)))
struct EarlyAnswerTests {
    static let script = Repository.path("Tests/HTTPClients/post_large_body.py")
    /// Far below the 30 s a blocked client waited before the fix, far above what an answer takes.
    static let promptly = 5.0
    static let sizes = [6 << 20, 50 << 20]

    func python(
        _ relay: RelayProcess,
        path: String,
        size: Int,
        client: String,
        connection: String,
        type: String = "application/json"
    ) async throws -> [String: Any] {
        let run = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", Self.script, String(relay.port), path, String(size), client, connection, type],
            environment: ProcessInfo.processInfo.environment,
            timeout: .seconds(90)
        )
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test("413 reaches http.client, urllib, curl and a raw socket at once, keep-alive or close; memory stays flat")
    func payloadTooLarge() async throws {
        let cluster = try MockKafkaCluster()
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-413")
        )
        defer { relay.process.signal(SIGKILL) }
        let before = try SoakTests.sample(relay.process.processIdentifier).rss
        for size in Self.sizes {
            for client in ["http.client", "urllib"] {
                for connection in ["close", "keep-alive"] {
                    let result = try await python(
                        relay,
                        path: "/webhooks/docutray",
                        size: size,
                        client: client,
                        connection: connection
                    )
                    let what = "\(client) \(connection) \(size >> 20) MiB: \(result)"
                    #expect(result["status"] as? Int == 413, "\(what)")
                    #expect(result["error"] as? String == "payload_too_large", "\(what)")
                    #expect((result["seconds"] as? Double ?? 99) < Self.promptly, "\(what)")
                    if client == "http.client", connection == "keep-alive" {
                        #expect(result["follow_up"] as? Int == 200, "the connection still serves: \(what)")
                    }
                    print("early answer: \(what)")
                }
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("large-\(UUID().uuidString).json")
            try Data(repeating: 0x20, count: size).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let started = ContinuousClock.now
            let curl = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json",
                    "--data-binary", "@\(file.path)", "http://127.0.0.1:\(relay.port)/webhooks/docutray",
                ],
                timeout: .seconds(60)
            )
            #expect(curl.stdout == "413", "curl \(size >> 20) MiB: \(curl.stdout) \(curl.stderr)")
            #expect(started.duration(to: .now) < .seconds(Self.promptly))
        }
        // A raw socket that writes head and whole body, then reads.
        let body = [UInt8](repeating: 0x20, count: 6 << 20)
        let head =
            "POST /webhooks/docutray HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.count)\r\nconnection: close\r\n\r\n"
        let raw = try await HTTPTestClient.exchange(
            port: relay.port,
            bytes: Array(head.utf8) + body,
            timeout: .seconds(30)
        )
        #expect(HTTPTestClient.parse(raw)?.status == 413, "\(String(decoding: raw.prefix(200), as: UTF8.self))")

        try await Task.sleep(for: .milliseconds(300))
        let after = try SoakTests.sample(relay.process.processIdentifier).rss
        #expect(
            after < before + 32 << 20,
            "RSS \(before >> 20) MiB → \(after >> 20) MiB after refusing \((6 + 50) * 6) MiB"
        )
        print("early answers: relay RSS \(before >> 20) → \(after >> 20) MiB")
        // And the relay still accepts a delivery afterwards.
        var factory = DeliveryFactory()
        factory.timestamp = Int64(Date().timeIntervalSince1970)
        let event = Array(#"{"conversion_id":"clm_after_413"}"#.utf8)
        let accepted = try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/docutray",
            headers: factory.headers(body: event, event: "CONVERSION_COMPLETED", deliveryID: "req_after_413"),
            body: event
        )
        #expect(accepted.status == 202, "\(accepted.bodyText)")
    }

    @Test("404, 405 and 415 with a 4–6 MiB body reach a client that writes it all before reading")
    func otherEarlyAnswers() async throws {
        let cluster = try MockKafkaCluster()
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-4xx")
        )
        defer { relay.process.signal(SIGKILL) }
        let cases: [(path: String, type: String, status: Int, error: String)] = [
            ("/webhooks/no-such-source", "application/json", 404, "unknown_source"),
            ("/elsewhere", "application/json", 404, "not_found"),
            ("/webhooks/docutray", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ]
        for (path, type, status, error) in cases {
            for connection in ["close", "keep-alive"] {
                // Under the size limit, so it is not the 413 that answers.
                let result = try await python(
                    relay,
                    path: path,
                    size: 4 << 20,
                    client: "http.client",
                    connection: connection,
                    type: type
                )
                #expect(result["status"] as? Int == status, "\(path) \(connection): \(result)")
                #expect(result["error"] as? String == error, "\(path) \(connection): \(result)")
                #expect((result["seconds"] as? Double ?? 99) < Self.promptly, "\(result)")
            }
        }
        // PUT with a body: 405 from the head.
        let body = [UInt8](repeating: 0x20, count: 6 << 20)
        let head =
            "PUT /webhooks/docutray HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.count)\r\nconnection: close\r\n\r\n"
        let raw = try await HTTPTestClient.exchange(
            port: relay.port,
            bytes: Array(head.utf8) + body,
            timeout: .seconds(30)
        )
        #expect(HTTPTestClient.parse(raw)?.status == 405)
    }
}
