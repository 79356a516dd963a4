import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Hostile clients over raw sockets: bytes that are not HTTP, broken framing, oversized and odd
/// headers, slow clients, and bodies no parser should trust. Each gets a 4xx or a closed
/// connection within seconds, never a 5xx or a hang, and a valid event is accepted right after.
@Suite("Hostile HTTP input", .serialized, .timeLimit(.minutes(5)))
struct HostileInputTests {
    /// The relay's idle timeout in this suite, in seconds.
    static let idleTimeoutSeconds = 1
    static let environment = [
        "RELAY_HTTP_MAX_BODY_SIZE": "64KiB",
        "RELAY_HTTP_IDLE_TIMEOUT": "\(idleTimeoutSeconds)s",
        "RELAY_HTTP_REQUEST_TIMEOUT": "2s",
    ]
    static let factory = DeliveryFactory()
    /// Far below any hang a test would notice, far above what an answer takes.
    static let quickly = Duration.seconds(6)

    /// A request head: lines joined with CRLF, ended by an empty line.
    static func head(_ lines: [String]) -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// The head lines of a correctly signed delivery of `body`, without Content-Length.
    static func signedLines(
        body: [UInt8],
        event: String = "CONVERSION_STARTED",
        deliveryID: String = "req_\(UUID().uuidString)"
    ) -> [String] {
        ["POST /webhooks/docutray HTTP/1.1", "host: relay.test"]
            + factory.headers(body: body, event: event, deliveryID: deliveryID).map { "\($0.0): \($0.1)" }
    }

    static let validBody = Array(#"{"conversion_id":"doc-1","status":"PROCESSING"}"#.utf8)

    /// Raw byte sequences that are not acceptable HTTP requests.
    static let framingCases: [(name: String, bytes: [UInt8])] = {
        let post = "POST /webhooks/docutray HTTP/1.1"
        let json = "content-type: application/json"
        var cases: [(String, [UInt8])] = [
            (
                "a TLS ClientHello on the plain port",
                [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc] + Array(repeating: 0x41, count: 300)
            ),
            ("binary noise", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }),
            ("a request line without a version", head(["POST /webhooks/docutray"])),
            ("an unknown HTTP version", head(["POST /webhooks/docutray HTTP/7.3", "host: x"])),
            ("a method with illegal characters", head(["P@ST /webhooks/docutray HTTP/1.1", "host: x"])),
            ("a header line without a colon", head([post, "host: x", "this is not a header"])),
            ("a header name with a space", head([post, "host: x", "x docutray event: A"])),
            ("a NUL byte in a header value", head([post, "host: x", "x-docutray-event: CONVERSION\u{0}STARTED"])),
            (
                "one header of 100 KiB",
                head([post, "host: x", "x-padding: " + String(repeating: "a", count: 100 * 1024)])
            ),
            ("2,000 headers", head([post, "host: x"] + (0..<2000).map { "x-h\($0): v" })),
            (
                "90 KiB of headers in 900 lines",
                head([post, "host: x"] + (0..<900).map { "x-h\($0): " + String(repeating: "b", count: 95) })
            ),
            (
                "two different Content-Lengths",
                head([post, "host: x", json, "content-length: 2", "content-length: 7"]) + Array("{}".utf8)
            ),
            ("a negative Content-Length", head([post, "host: x", json, "content-length: -1"]) + Array("{}".utf8)),
            (
                "a Content-Length that is not a number",
                head([post, "host: x", json, "content-length: two"]) + Array("{}".utf8)
            ),
            (
                "a Content-Length beyond 64 bits",
                head([post, "host: x", json, "content-length: 99999999999999999999999"])
            ),
            (
                "Content-Length and chunked together",
                head([post, "host: x", json, "content-length: 4", "transfer-encoding: chunked"])
                    + Array("2\r\n{}\r\n0\r\n\r\n".utf8)
            ),
            (
                "a chunk size that is not hex",
                head([post, "host: x", json, "transfer-encoding: chunked"]) + Array("zz\r\n{}\r\n0\r\n\r\n".utf8)
            ),
            (
                "a chunk size beyond 64 bits",
                head([post, "host: x", json, "transfer-encoding: chunked"])
                    + Array("ffffffffffffffffffffff\r\n{}\r\n".utf8)
            ),
            (
                "a chunk longer than its size",
                head([post, "host: x", json, "transfer-encoding: chunked"]) + Array("2\r\n{}garbage\r\n0\r\n\r\n".utf8)
            ),
            (
                "an unknown transfer coding",
                head([post, "host: x", json, "transfer-encoding: gzip"]) + Array("{}".utf8)
            ),
            ("a declared body of 10 GB", head([post, "host: x", json, "content-length: 10000000000"])),
            (
                "Expect: 100-continue for 10 MB",
                head([post, "host: x", json, "expect: 100-continue", "content-length: 10000000"])
            ),
            (
                "a body shorter than its Content-Length, then silence",
                head([post, "host: x", json, "content-length: 100"]) + Array("{}".utf8)
            ),
            (
                "a body longer than its Content-Length",
                head([post, "host: x", json, "content-length: 2"]) + Array("{}GARBAGE / HTTP/1.1\r\n\r\n".utf8)
            ),
            ("only line breaks", Array("\r\n\r\n\r\n\r\n".utf8)),
            (
                "a 100 KiB path",
                head(["POST /webhooks/" + String(repeating: "a", count: 100 * 1024) + " HTTP/1.1", "host: x"])
            ),
            (
                "a path climbing out of /webhooks",
                head(["POST /webhooks/../admin/buffer HTTP/1.1", "host: x", json, "content-length: 2"])
                    + Array("{}".utf8)
            ),
            (
                "an encoded NUL in the source",
                head(["POST /webhooks/docu%00tray HTTP/1.1", "host: x", json, "content-length: 2"]) + Array("{}".utf8)
            ),
            (
                "HTTP/1.0 without a Host",
                head(["POST /webhooks/docutray HTTP/1.0", json, "content-length: 2"]) + Array("{}".utf8)
            ),
            (
                "an obsolete folded header",
                head([post, "host: x", json, "x-docutray-event: CONVERSION_", " STARTED", "content-length: 2"])
                    + Array("{}".utf8)
            ),
        ]
        let signed = signedLines(body: validBody)
        cases.append(
            (
                "a signed request with its body cut short",
                head(signed + ["content-length: \(validBody.count)"]) + validBody.prefix(10)
            )
        )
        return cases
    }()

    @Test("Bytes that are not a valid request get a 4xx or a closed connection, quickly; the relay goes on")
    func framing() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            for (name, bytes) in Self.framingCases {
                let started = ContinuousClock.now
                let raw = try await HTTPTestClient.exchange(port: relay.port, bytes: bytes, timeout: .seconds(15))
                let elapsed = started.duration(to: .now)
                if let answer = HTTPTestClient.parse(raw) {
                    #expect((400..<500).contains(answer.status), "\(name): \(answer.status) \(answer.bodyText)")
                } else {
                    #expect(raw.isEmpty, "\(name): answered bytes that are not HTTP: \(raw.prefix(100))")
                }
                #expect(elapsed < Self.quickly, "\(name): took \(elapsed)")
                try await Self.expectAccepted(by: relay, after: name)
            }
            #expect(await relay.settledOutstandingCount() == 0)
        }
    }

    /// Signed or partly signed requests whose headers or bodies are wrong in odd ways.
    static let requestCases: [(name: String, status: Int, error: String, headers: [(String, String)], body: [UInt8])] =
        {
            func signed(
                _ body: [UInt8],
                event: String = "CONVERSION_STARTED",
                id: String = "req_\(UUID().uuidString)"
            )
                -> [(String, String)]
            {
                factory.headers(body: body, event: event, deliveryID: id)
            }
            func replacing(_ name: String, with value: String, body: [UInt8] = validBody) -> [(String, String)] {
                signed(body).map { $0.0 == name ? ($0.0, value) : $0 }
            }
            let deepArrays =
                Array(#"{"a":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 30_000)
                + Array(repeating: UInt8(ascii: "]"), count: 30_000) + [UInt8(ascii: "}")]
            let deepObjects =
                Array(String(repeating: #"{"a":"#, count: 5000).utf8) + Array("1".utf8)
                + Array(repeating: UInt8(ascii: "}"), count: 5000)
            let invalidUTF8: [UInt8] = Array(#"{"name":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8)
            let overlong: [UInt8] = Array(#"{"name":""#.utf8) + [0xc0, 0xaf] + Array(#""}"#.utf8)
            let surrogate: [UInt8] = Array(#"{"name":""#.utf8) + [0xed, 0xa0, 0x80] + Array(#""}"#.utf8)
            let validSignature = signed(validBody).first { $0.0 == "x-docutray-signature" }!.1
            var cases: [(String, Int, String, [(String, String)], [UInt8])] = []
            for (name, body) in [
                ("an empty body", [UInt8]()), ("a JSON string", Array(#""text""#.utf8)),
                ("a JSON number", Array("42".utf8)),
                ("null", Array("null".utf8)), ("two objects", Array("{}{}".utf8)),
                ("an object and garbage", Array("{} x".utf8)),
                ("arrays nested 30,000 deep", deepArrays), ("objects nested 5,000 deep", deepObjects),
                ("invalid UTF-8", invalidUTF8), ("an overlong UTF-8 encoding", overlong),
                ("a UTF-8 surrogate", surrogate),
                ("a byte-order mark", [0xef, 0xbb, 0xbf] + Array("{}".utf8)),
                ("an unterminated string", Array(#"{"a":"b}"#.utf8)),
                ("a lone backslash escape", Array(#"{"a":"\x"}"#.utf8)),
                ("a bare control character", Array("{\"a\":\"\u{1}\"}".utf8)),
            ] {
                cases.append(("signed body: \(name)", 400, "invalid_json", signed(body), body))
            }
            for (name, value) in [
                ("empty after the prefix", "sha256="), ("not hex", "sha256=" + String(repeating: "g", count: 64)),
                ("10,000 hex digits", "sha256=" + String(repeating: "ab", count: 5000)),
                ("another algorithm", "md5=" + String(validSignature.dropFirst(7))),
                ("no prefix", String(validSignature.dropFirst(7))),
                ("two signatures in one header", validSignature + ",sha256=" + String(repeating: "0", count: 64)),
                ("one digit short", String(validSignature.dropLast())),
                ("non-ASCII", "sha256=é" + String(repeating: "0", count: 63)),
            ] {
                cases.append(
                    (
                        "body signature \(name)", 401, "invalid_signature",
                        replacing("x-docutray-signature", with: value), validBody
                    )
                )
            }
            for value in [
                "-1705314600", "+1705314600", "1705314600.5", "1.7e9", "0x65A5084C", "99999999999999999999",
                "１７０５３１４６００",
            ] {
                cases.append(
                    (
                        "timestamp \(value)", 400, "invalid_header", replacing("x-docutray-timestamp", with: value),
                        validBody
                    )
                )
            }
            cases.append(
                ("timestamp 0 (1970)", 401, "stale_timestamp", replacing("x-docutray-timestamp", with: "0"), validBody)
            )
            for (name, value) in [
                ("of 201 characters", String(repeating: "r", count: 201)),
                ("of 8 KiB", String(repeating: "r", count: 8192)),
                ("with a space", "req 1"), ("with a tab", "req\t1"), ("with non-ASCII", "réq_1"),
            ] {
                cases.append(
                    (
                        "request id \(name)", 400, "invalid_header", replacing("x-docutray-request-id", with: value),
                        validBody
                    )
                )
            }
            for (name, value) in [
                ("of 101 characters", "A" + String(repeating: "B", count: 100)),
                ("of 8 KiB", String(repeating: "E", count: 8192)),
                ("starting with a digit", "1CONVERSION"), ("with a dot", "CONVERSION.STARTED"),
                ("with non-ASCII", "CONVERSIÓN_STARTED"),
            ] {
                cases.append(
                    ("event type \(name)", 400, "invalid_header", replacing("x-docutray-event", with: value), validBody)
                )
            }
            cases.append(
                (
                    "the event header twice", 400, "invalid_header",
                    signed(validBody) + [("x-docutray-event", "STEP_FAILED")], validBody
                )
            )
            return cases
        }()

    @Test("Odd headers and bodies get their 4xx and error code; the relay goes on")
    func oddRequests() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            for (name, status, error, headers, body) in Self.requestCases {
                let started = ContinuousClock.now
                let answer = try await HTTPTestClient.send(
                    port: relay.port,
                    path: "/webhooks/docutray",
                    headers: headers,
                    body: body,
                    timeout: .seconds(15)
                )
                #expect(answer.status == status, "\(name): \(answer.bodyText)")
                let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
                #expect(json?["error"] as? String == error, "\(name): \(answer.bodyText)")
                #expect((json?["message"] as? String)?.isEmpty == false, "\(name)")
                #expect(started.duration(to: .now) < Self.quickly, "\(name)")
            }
            try await Self.expectAccepted(by: relay, after: "odd requests")
            #expect(await relay.settledOutstandingCount() == 0)
        }
    }

    @Test("A client trickling its headers is cut off without an answer")
    func trickledHeaders() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let bytes = Self.head(Self.signedLines(body: Self.validBody) + ["content-length: \(Self.validBody.count)"])
            let outcome = try await Self.trickle(bytes, to: relay)
            #expect(outcome.raw.isEmpty, "cut off without an answer: \(outcome.raw.prefix(100))")
            #expect(outcome.elapsed < Self.quickly, "\(outcome.elapsed)")
            try await Self.expectAccepted(by: relay, after: "trickled headers")
        }
    }

    @Test("A client trickling its body is cut off by the request timeout, though every byte resets the idle timer")
    func trickledBody() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let head = Self.head(
                Self.signedLines(body: Self.validBody)
                    + ["content-length: \(Self.validBody.count)"]
            )
            let outcome = try await Self.trickle(Self.validBody, to: relay, after: head)
            #expect(outcome.raw.isEmpty, "cut off without an answer: \(outcome.raw.prefix(100))")
            #expect(
                outcome.elapsed >= .milliseconds(1500),
                "every body byte resets the 1 s idle timer; the 2 s request timeout cuts it off: \(outcome.elapsed)"
            )
            #expect(outcome.elapsed < Self.quickly, "\(outcome.elapsed)")
            let closed = relay.logs.entries.filter {
                $0.message == "Closed a connection that did not send its request in time"
            }
            #expect(closed.count == 1)
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while !relay.logs.entries.contains(where: { $0.metadata["error"] == "incomplete_body" }), .now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(
                relay.logs.entries.contains { $0.metadata["error"] == "incomplete_body" },
                "the cut-off request is logged as incomplete, not as too large"
            )
            #expect(await relay.settledOutstandingCount() == 0)
            try await Self.expectAccepted(by: relay, after: "trickled body")
        }
    }

    /// One keep-alive connection, driven by `Tests/HTTPClients/keep_alive_session.py` (a raw socket):
    /// each step waits `pause`, then sends `request` at once or a byte every `trickle`.
    static func keepAliveSession(
        _ steps: [(pause: Double, request: [UInt8], trickle: Double)],
        to relay: TestRelay
    ) async throws -> [(status: Int?, seconds: Double)] {
        let spec = steps.map { step -> [String: Any] in
            ["pause": step.pause, "request": Data(step.request).base64EncodedString(), "trickle": step.trickle]
        }
        let run = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", Repository.path("Tests/HTTPClients/keep_alive_session.py"), String(relay.port)],
            stdin: Array(try JSONSerialization.data(withJSONObject: spec)),
            timeout: .seconds(90)
        )
        #expect(run.status == 0, "\(run.stderr)")
        let results = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        return results.map { ($0["status"] as? Int, $0["seconds"] as? Double ?? 0) }
    }

    /// A complete, correctly signed delivery with a fresh id, keeping the connection open.
    static func keepAliveRequest() -> [UInt8] {
        head(signedLines(body: validBody) + ["content-length: \(validBody.count)"]) + validBody
    }

    @Test("A keep-alive connection is served for longer than the request timeout, request after request")
    func keepAliveOutlastsRequestTimeout() async throws {
        // Seven requests half a second apart: 3.5 s on one connection against a 2 s request timeout
        // (which limits each request, not the connection), within a 5 s idle timeout.
        let environment = Self.environment.merging(["RELAY_HTTP_IDLE_TIMEOUT": "5s"]) { $1 }
        try await withTestRelay(environment: environment) { relay in
            let steps = (0..<7).map { _ in (pause: 0.5, request: Self.keepAliveRequest(), trickle: 0.0) }
            let results = try await Self.keepAliveSession(steps, to: relay)
            #expect(results.map(\.status) == Array(repeating: 202, count: 7), "\(results)")
            #expect(
                !relay.logs.entries.contains {
                    $0.message == "Closed a connection that did not send its request in time"
                }
            )
        }
    }

    @Test("A later request on a keep-alive connection that trickles is cut off by its own request timeout")
    func trickledKeepAliveRequest() async throws {
        // A 5 s idle timeout, so a slow machine's pause between the requests cannot close it first.
        let environment = Self.environment.merging(["RELAY_HTTP_IDLE_TIMEOUT": "5s"]) { $1 }
        try await withTestRelay(environment: environment) { relay in
            // The first request arms the connection's timer (due 2 s later); the second starts 0.8 s
            // after it and trickles a byte every 250 ms, so the timer finds it 1.2 s old, waits for its
            // own deadline and closes the connection 2 s after the second request's first byte.
            let results = try await Self.keepAliveSession(
                [
                    (pause: 0, request: Self.keepAliveRequest(), trickle: 0),
                    (pause: 0.8, request: Self.keepAliveRequest(), trickle: 0.25),
                ],
                to: relay
            )
            #expect(results.count == 2, "\(results)")
            #expect(results.first?.status == 202, "\(results)")
            let cutOff = try #require(results.last)
            #expect(cutOff.status == nil, "cut off without an answer: \(results)")
            #expect(cutOff.seconds >= 1.5, "cut off by its own 2 s timeout, not the first request's: \(results)")
            #expect(cutOff.seconds < 6, "\(results)")
            let closed = relay.logs.entries.filter {
                $0.message == "Closed a connection that did not send its request in time"
            }
            #expect(closed.count == 1)
            try await Self.expectAccepted(by: relay, after: "a trickled keep-alive request")
        }
    }

    @Test("A silent connection is closed by the idle timeout")
    func silentConnection() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let started = ContinuousClock.now
            let raw = try await HTTPTestClient.exchange(port: relay.port, bytes: [], timeout: .seconds(15))
            #expect(raw.isEmpty)
            #expect(started.duration(to: .now) < Self.quickly)
        }
    }

    @Test("A slow client that finishes within the request timeout is served")
    func slowButTimely() async throws {
        // About 1 s of pauses against a 4 s limit: a loaded machine must not turn timely into late.
        let environment = Self.environment.merging(["RELAY_HTTP_REQUEST_TIMEOUT": "4s"]) { $1 }
        try await withTestRelay(environment: environment) { relay in
            let bytes =
                Self.head(
                    Self.signedLines(body: Self.validBody)
                        + ["content-length: \(Self.validBody.count)", "connection: close"]
                ) + Self.validBody
            let pieces = stride(from: 0, to: bytes.count, by: bytes.count / 4 + 1).map {
                Array(bytes[$0..<min($0 + bytes.count / 4 + 1, bytes.count)])
            }
            let raw = try await HTTPTestClient.exchange(
                port: relay.port,
                pieces: pieces,
                pause: .milliseconds(300),
                timeout: .seconds(15)
            )
            #expect(HTTPTestClient.parse(raw)?.status == 202, "\(String(decoding: raw, as: UTF8.self))")
        }
    }

    @Test("A source over its rate limit gets 429 with Retry-After, and is served again once it waits")
    func rateLimit() async throws {
        let environment = ["RELAY_DOCUTRAY_RATE_LIMIT": "1", "RELAY_DOCUTRAY_RATE_LIMIT_BURST": "5"]
        try await withTestRelay(environment: environment) { relay in
            let started = ContinuousClock.now
            var accepted = 0
            var refused: TestResponse?
            for _ in 0..<10 {
                let id = "req_\(UUID().uuidString)"
                let answer = try await relay.post(
                    headers: Self.factory.headers(body: Self.validBody, event: "CONVERSION_STARTED", deliveryID: id),
                    body: Self.validBody
                )
                if answer.status == 202 { accepted += 1 } else if refused == nil { refused = answer }
            }
            let elapsed = started.duration(to: .now)
            let refill = Int(elapsed.components.seconds) + 1
            #expect(accepted >= 5, "the burst is admitted")
            #expect(accepted <= 5 + refill, "no more than the burst and the refill in \(elapsed)")
            let answer = try #require(refused)
            #expect(answer.status == 429)
            #expect(answer.header("retry-after") == "1")
            let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            #expect(json?["error"] as? String == "rate_limited")
            #expect(relay.logs.entries.contains { $0.metadata["error"] == "rate_limited" })

            try await Task.sleep(for: .milliseconds(1100))
            try await Self.expectAccepted(by: relay, after: "waiting out the limit")
        }
    }

    /// Sends `bytes` one every 250 ms (after `prefix` at once) until the server closes the connection.
    static func trickle(
        _ bytes: [UInt8],
        to relay: TestRelay,
        after prefix: [UInt8] = []
    ) async throws -> (raw: [UInt8], elapsed: Duration) {
        let pieces = (prefix.isEmpty ? [] : [prefix]) + bytes.map { [$0] }
        let started = ContinuousClock.now
        let raw = try await HTTPTestClient.exchange(
            port: relay.port,
            pieces: pieces,
            pause: .milliseconds(250),
            timeout: .seconds(20)
        )
        return (raw, started.duration(to: .now))
    }

    /// A fresh, correctly signed event is still accepted.
    ///
    /// The suite's idle timeout (1 s) runs from the moment a connection is accepted, so on a machine
    /// stalled for longer than that the relay may rightly close a connection before reading it. Such a
    /// close (no byte answered, after at least the idle timeout) is retried, at most twice; any answer
    /// other than 202, or a close sooner than the idle timeout, fails the test.
    static func expectAccepted(by relay: TestRelay, after name: String) async throws {
        let request = head(signedLines(body: validBody) + ["content-length: \(validBody.count)"]) + validBody
        for attempt in 1...3 {
            let started = ContinuousClock.now
            let raw = try await HTTPTestClient.exchange(port: relay.port, bytes: request, timeout: .seconds(30))
            if let answer = HTTPTestClient.parse(raw) {
                #expect(answer.status == 202, "after \(name): \(answer.status) \(answer.bodyText)")
                return
            }
            let elapsed = started.duration(to: .now)
            guard raw.isEmpty, elapsed >= .seconds(idleTimeoutSeconds), attempt < 3 else {
                Issue.record("after \(name): no answer (\(raw.count) bytes) after \(elapsed), attempt \(attempt)")
                return
            }
        }
    }
}
