import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Every class of bad request gets its status and a JSON `{"error", "message"}` answer, is logged once
/// with its reason, and publishes nothing.
@Suite("HTTP contract: every rejection", .serialized, .timeLimit(.minutes(3)))
struct HTTPContractTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var error: String
        var method = "POST"
        var path = "/webhooks/docutray"
        var headers: [(String, String)]
        var body: [UInt8]
        var testDescription: String { "\(status) \(error): \(name)" }
    }

    static let vector = (try? SignatureVector.all().first)!
    static let factory = DeliveryFactory()

    static func headers(
        _ base: [(String, String)] = vector.headerList,
        without removed: String? = nil,
        with replaced: [String: String] = [:]
    ) -> [(String, String)] {
        base.filter { $0.0 != removed }.map { ($0.0, replaced[$0.0] ?? $0.1) }
    }

    static func signed(
        _ body: String,
        event: String = "CONVERSION_STARTED"
    ) -> (headers: [(String, String)], body: [UInt8]) {
        let bytes = Array(body.utf8)
        return (factory.headers(body: bytes, event: event, deliveryID: "req_\(UUID().uuidString.prefix(8))"), bytes)
    }

    static let cases: [Case] = {
        let body = vector.bodyBytes
        var cases = [
            Case(
                name: "unknown source",
                status: 404,
                error: "unknown_source",
                path: "/webhooks/stripe",
                headers: headers(),
                body: body
            ),
            Case(name: "unknown path", status: 404, error: "not_found", path: "/hooks", headers: headers(), body: body),
            Case(name: "GET", status: 405, error: "method_not_allowed", method: "GET", headers: [], body: []),
            Case(name: "PUT", status: 405, error: "method_not_allowed", method: "PUT", headers: headers(), body: body),
            Case(
                name: "no content type",
                status: 415,
                error: "unsupported_media_type",
                headers: headers(without: "content-type"),
                body: body
            ),
            Case(
                name: "text/plain",
                status: 415,
                error: "unsupported_media_type",
                headers: headers(with: ["content-type": "text/plain"]),
                body: body
            ),
            Case(
                name: "body over the limit",
                status: 413,
                error: "payload_too_large",
                headers: headers(),
                body: Array(repeating: 0x20, count: 3000) + body
            ),
            Case(
                name: "bad body signature",
                status: 401,
                error: "invalid_signature",
                headers: headers(),
                body: body + [0x20]
            ),
            Case(
                name: "missing body signature",
                status: 401,
                error: "missing_signature",
                headers: headers(without: "x-docutray-signature"),
                body: body
            ),
            Case(
                name: "missing auth signature",
                status: 401,
                error: "missing_signature",
                headers: headers(without: "x-docutray-auth-signature"),
                body: body
            ),
            Case(
                name: "forged auth signature",
                status: 401,
                error: "invalid_signature",
                headers: headers(with: ["x-docutray-auth-signature": "sha256=" + String(repeating: "0", count: 64)]),
                body: body
            ),
            Case(
                name: "lowercase event type",
                status: 400,
                error: "invalid_header",
                headers: headers(with: ["x-docutray-event": "conversion_started"]),
                body: body
            ),
            Case(
                name: "timestamp not digits",
                status: 400,
                error: "invalid_header",
                headers: headers(with: ["x-docutray-timestamp": "yesterday"]),
                body: body
            ),
            Case(
                name: "stale timestamp",
                status: 401,
                error: "stale_timestamp",
                headers: headers(with: ["x-docutray-timestamp": "1705314000"]),
                body: body
            ),
            Case(
                name: "future timestamp",
                status: 401,
                error: "stale_timestamp",
                headers: headers(with: ["x-docutray-timestamp": "1705315000"]),
                body: body
            ),
        ]
        for name in ["x-docutray-event", "x-docutray-request-id", "x-docutray-timestamp"] {
            cases.append(
                Case(
                    name: "missing \(name)",
                    status: 400,
                    error: "missing_header",
                    headers: headers(without: name),
                    body: body
                )
            )
        }
        for (name, text) in [
            ("not JSON", "not json"), ("a JSON array", "[1,2]"), ("truncated JSON", #"{"conversion_id":"#),
            ("empty", ""),
        ] {
            let signed = signed(text)
            cases.append(
                Case(
                    name: "signed body that is \(name)",
                    status: 400,
                    error: "invalid_json",
                    headers: signed.headers,
                    body: signed.body
                )
            )
        }
        return cases
    }()

    @Test("Rejections", arguments: cases)
    func rejection(_ testCase: Case) async throws {
        try await withTestRelay(environment: ["RELAY_HTTP_MAX_BODY_SIZE": "2KiB"]) { relay in
            let response = try await HTTPTestClient.send(
                port: relay.port,
                method: testCase.method,
                path: testCase.path,
                headers: testCase.headers,
                body: testCase.body
            )
            #expect(response.status == testCase.status, "\(response.bodyText)")
            #expect(response.header("content-type") == "application/json")
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            #expect(answer["error"] as? String == testCase.error)
            #expect((answer["message"] as? String)?.isEmpty == false)
            #expect(Set(answer.keys) == ["error", "message"])
            #expect(!response.bodyText.contains(SignatureVector.secret))
            if testCase.status == 405 { #expect(response.header("allow") == "POST") }

            if testCase.path.hasPrefix("/webhooks/docutray") && testCase.method == "POST" {
                let rejections = relay.logs.entries.filter { $0.message == "Rejected webhook" }
                #expect(rejections.count == 1, "one log line per rejected request")
                #expect(rejections.first?.metadata["error"] == testCase.error)
            }
            #expect(!relay.logs.entries.contains { $0.line.contains(SignatureVector.secret) })
            #expect(await relay.settledOutstandingCount() == 0)
        }
    }

    @Test("A chunked body over the limit is cut off with 413")
    func chunkedOverLimit() async throws {
        try await withTestRelay(environment: ["RELAY_HTTP_MAX_BODY_SIZE": "2KiB"]) { relay in
            var request =
                "POST /webhooks/docutray HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n"
            for (name, value) in Self.vector.headerList { request += "\(name): \(value)\r\n" }
            request += "\r\n"
            let chunk = String(repeating: "a", count: 1024)
            for _ in 0..<4 { request += "400\r\n\(chunk)\r\n" }
            request += "0\r\n\r\n"
            let raw = try await HTTPTestClient.exchange(port: relay.port, bytes: Array(request.utf8))
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 413"), "\(text.prefix(200))")
            #expect(text.contains(#""error":"payload_too_large""#))
        }
    }

    @Test("Content-Type with parameters is accepted")
    func contentTypeParameters() async throws {
        try await withTestRelay { relay in
            let headers = Self.headers(with: ["content-type": "Application/JSON; charset=utf-8"])
            let response = try await relay.post(headers: headers, body: Self.vector.bodyBytes)
            #expect(response.status == 202, "\(response.bodyText)")
        }
    }

    @Test("Health endpoint answers")
    func health() async throws {
        try await withTestRelay { relay in
            let response = try await HTTPTestClient.send(port: relay.port, method: "GET", path: "/healthz")
            #expect(response.status == 200)
            #expect(response.bodyText == #"{"status":"ok"}"#)
        }
    }
}
