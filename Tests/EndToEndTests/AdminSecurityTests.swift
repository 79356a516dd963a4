import Foundation
import Relay
import RelayTestSupport
import SenderKit
import Testing

/// What a web page in the operator's browser, or a slow client, can do to the admin listener when
/// it has no token (the default on loopback): nothing that changes or reads the buffer.
@Suite("Admin listener without a token", .serialized, .timeLimit(.minutes(3)))
struct AdminSecurityTests {
    /// A replay request for everything archived, as a page would send it.
    static let replayAll = AdminAPI.encode(
        AdminAPI.ReplayRequest(filter: RecordFilter(state: .archived), topic: nil, dryRun: false)
    )

    /// Sends `request` as raw bytes to the admin listener and parses the answer.
    static func raw(_ relay: TestRelay, _ lines: [String], body: [UInt8] = []) async throws -> TestResponse {
        let head = (lines + ["content-length: \(body.count)", "connection: close", "", ""]).joined(separator: "\r\n")
        let bytes = try await HTTPTestClient.exchange(port: relay.adminPort, bytes: Array(head.utf8) + body)
        return try #require(HTTPTestClient.parse(bytes), "no answer")
    }

    /// Posts the vectors so the archive holds something to replay.
    static func archiveSomething(_ relay: TestRelay) async throws {
        _ = try await AdminAPITests.postVectors(relay)
    }

    @Test("A text/plain or form POST to /admin/replay (what any page may send) is refused and replays nothing")
    func nonJSONPostRefused() async throws {
        let relay = try await TestRelay.start()
        defer { Task { try? await relay.stop() } }
        try await Self.archiveSomething(relay)
        let host = "host: 127.0.0.1:\(relay.adminPort)"
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let answer = try await Self.raw(
                relay,
                ["POST /admin/replay HTTP/1.1", host, "content-type: \(type)"],
                body: Self.replayAll
            )
            #expect(answer.status == 415, "\(type): \(answer.bodyText)")
            #expect(answer.bodyText.contains(#""error":"unsupported_media_type""#))
        }
        let none = try await Self.raw(relay, ["POST /admin/replay HTTP/1.1", host], body: Self.replayAll)
        #expect(none.status == 415, "no content type: \(none.bodyText)")
        let metrics = String(decoding: relay.application.exporter.exposition(), as: UTF8.self)
        let replayed = metrics.split(separator: "\n").filter { $0.hasPrefix("relay_replayed_total") }
        #expect(replayed.allSatisfy { $0.hasSuffix(" 0") }, "nothing was replayed: \(replayed)")
        // The same request as JSON from the listener's own origin works (the console does this).
        let own = try await Self.raw(
            relay,
            [
                "POST /admin/replay HTTP/1.1", host, "content-type: application/json",
                "origin: http://127.0.0.1:\(relay.adminPort)",
            ],
            body: AdminAPI.encode(
                AdminAPI.ReplayRequest(filter: RecordFilter(state: .archived), topic: nil, dryRun: true)
            )
        )
        #expect(own.status == 200, "\(own.bodyText)")
        #expect(own.bodyText.contains(#""matched":10"#), "\(own.bodyText)")
        try await relay.stop()
    }

    @Test("A request from another origin is refused, GET or POST")
    func crossOriginRefused() async throws {
        let relay = try await TestRelay.start()
        defer { Task { try? await relay.stop() } }
        let host = "host: 127.0.0.1:\(relay.adminPort)"
        for origin in ["http://evil.example", "null", "http://127.0.0.1:1", "https://localhost:\(relay.adminPort)"] {
            let get = try await Self.raw(
                relay,
                ["GET /admin/buffer/records?body=true HTTP/1.1", host, "origin: \(origin)"]
            )
            #expect(get.status == 403, "\(origin): \(get.bodyText)")
            #expect(get.bodyText.contains(#""error":"forbidden_origin""#))
            let post = try await Self.raw(
                relay,
                ["POST /admin/replay HTTP/1.1", host, "content-type: application/json", "origin: \(origin)"],
                body: Self.replayAll
            )
            #expect(post.status == 403, "\(origin): \(post.bodyText)")
        }
        try await relay.stop()
    }

    @Test("DNS rebinding: a Host that is a foreign name is refused; addresses, localhost and listed names pass")
    func foreignHostRefused() async throws {
        let relay = try await TestRelay.start(environment: ["RELAY_ADMIN_ALLOWED_HOSTS": "relay-admin.internal"])
        defer { Task { try? await relay.stop() } }
        let port = relay.adminPort
        for host in [
            "attacker.example:\(port)", "127.0.0.1.nip.io:\(port)", "127.evil.example", "localhost.evil:\(port)",
        ] {
            let answer = try await Self.raw(relay, ["GET /admin/buffer HTTP/1.1", "host: \(host)"])
            #expect(answer.status == 421, "\(host): \(answer.bodyText)")
            #expect(answer.bodyText.contains(#""error":"forbidden_host""#))
            #expect(!answer.bodyText.contains("pending"), "no buffer data")
        }
        for host in [
            "127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)", "relay-admin.internal:\(port)",
        ] {
            let answer = try await Self.raw(relay, ["GET /admin/buffer HTTP/1.1", "host: \(host)"])
            #expect(answer.status == 200, "\(host): \(answer.bodyText)")
        }
        // Probes send whatever Host they like; their answers hold nothing.
        let probe = try await Self.raw(relay, ["GET /healthz HTTP/1.1", "host: probe.example"])
        #expect(probe.status == 200)
        try await relay.stop()
    }

    @Test("The admin listener has the ingress's request deadline: a trickling client is cut off")
    func adminRequestDeadline() async throws {
        let relay = try await TestRelay.start(environment: [
            "RELAY_HTTP_REQUEST_TIMEOUT": "2s", "RELAY_HTTP_IDLE_TIMEOUT": "1s",
        ])
        defer { Task { try? await relay.stop() } }
        let request = Array(
            "GET /admin/buffer HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: \(String(repeating: "a", count: 40))\r\n\r\n"
                .utf8
        )
        let started = ContinuousClock.now
        let raw = try await HTTPTestClient.exchange(
            port: relay.adminPort,
            pieces: request.map { [$0] },
            pause: .milliseconds(250),
            timeout: .seconds(20)
        )
        let elapsed = started.duration(to: .now)
        #expect(raw.isEmpty, "cut off without an answer: \(String(decoding: raw.prefix(100), as: UTF8.self))")
        #expect(elapsed < .seconds(10), "\(elapsed)")
        try await relay.stop()
    }
}
