import Foundation
import HTTPTypes
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("Docutray signature verification")
struct DocutraySchemeTests {
    static let vectors = (try? SignatureVector.all()) ?? []
    let signedAt = Date(timeIntervalSince1970: TimeInterval(SignatureVector.signedAt))

    func scheme(
        secrets: [String] = [SignatureVector.secret],
        url: String = SignatureVector.webhookURL,
        policy: DocutrayScheme.Policy = .both
    ) -> DocutrayScheme {
        DocutrayScheme(secrets: secrets, webhookURL: url, policy: policy, timestampTolerance: 300)
    }

    func request(
        _ vector: SignatureVector,
        replacing changes: [String: String] = [:],
        removing removed: Set<String> = [],
        body: [UInt8]? = nil
    ) -> WebhookRequest {
        var headers = HTTPFields()
        for (name, value) in vector.headerList where !removed.contains(name) {
            headers.append(HTTPField(name: HTTPField.Name(name)!, value: changes[name] ?? value))
        }
        return WebhookRequest(headers: headers, body: body ?? vector.bodyBytes)
    }

    @Test("The fixture holds the ten known-answer vectors")
    func fixtureIsComplete() {
        #expect(Self.vectors.count == 10)
    }

    @Test("Every vector verifies under every policy", arguments: vectors)
    func vectorVerifies(_ vector: SignatureVector) throws {
        for policy in DocutrayScheme.Policy.allCases {
            let verified = try scheme(policy: policy).verify(request(vector), now: signedAt)
            #expect(verified.eventType == vector.event)
            #expect(verified.deliveryID == vector.deliveryID)
            // Under `body` the timestamp header is not signed: it is checked for freshness but is not
            // the event's signed time, and not reported as verified.
            #expect(verified.signedAt == (policy == .body ? nil : SignatureVector.signedAt))
            #expect(verified.checks.contains("timestamp") == (policy != .body))
        }
        #expect(try scheme(policy: .body).verify(request(vector), now: signedAt).checks == ["body-signature"])
        #expect(
            try scheme(policy: .auth).verify(request(vector), now: signedAt).checks == ["timestamp", "auth-signature"]
        )
        let both = try scheme().verify(request(vector), now: signedAt)
        #expect(both.checks == ["timestamp", "body-signature", "auth-signature"])
        #expect(both.forwardedHeaders.map(\.name).contains("x-docutray-auth-signature"))
    }

    @Test("Signing reproduces every vector's headers byte for byte", arguments: vectors)
    func signerMatchesVectors(_ vector: SignatureVector) {
        let signer = DocutraySigner(secret: vector.secret, webhookURL: vector.webhookURL)
        let headers = signer.headers(
            body: vector.bodyBytes,
            event: vector.event,
            requestID: vector.deliveryID,
            timestamp: Int64(vector.timestamp)!
        )
        #expect(Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }) == vector.headers)
    }

    @Test("A body changed by one byte fails the body signature but not the auth signature", arguments: vectors)
    func tamperedBody(_ vector: SignatureVector) throws {
        var body = vector.bodyBytes
        body[body.count / 2] ^= 0x01
        let tampered = request(vector, body: body)
        #expect(
            throws: WebhookRejection.badSignature(
                header: "x-docutray-signature",
                reason: "does not match under any active secret"
            )
        ) {
            try scheme().verify(tampered, now: signedAt)
        }
        #expect(throws: Never.self) { try scheme(policy: .auth).verify(tampered, now: signedAt) }
    }

    @Test("A wrong secret fails both signatures", arguments: vectors)
    func wrongSecret(_ vector: SignatureVector) {
        for policy in DocutrayScheme.Policy.allCases {
            #expect(throws: WebhookRejection.self) {
                try scheme(secrets: ["whsec_test_9f8e7d6c5b4b"], policy: policy).verify(request(vector), now: signedAt)
            }
        }
    }

    @Test("The auth signature binds the URL, request id, timestamp and event", arguments: vectors)
    func authSignatureBindsFields(_ vector: SignatureVector) {
        let auth = WebhookRejection.badSignature(
            header: "x-docutray-auth-signature",
            reason: "does not match under any active secret"
        )
        #expect(throws: auth) {
            try scheme(url: "https://relay.example.com/webhooks/other").verify(request(vector), now: signedAt)
        }
        #expect(throws: auth) {
            try scheme(policy: .auth).verify(
                request(vector, replacing: ["x-docutray-request-id": "req_forged"]),
                now: signedAt
            )
        }
        #expect(throws: auth) {
            try scheme(policy: .auth).verify(
                request(vector, replacing: ["x-docutray-timestamp": "1705314601"]),
                now: signedAt
            )
        }
        let otherEvent = vector.event == "STEP_FAILED" ? "STEP_COMPLETED" : "STEP_FAILED"
        #expect(throws: auth) {
            try scheme(policy: .auth).verify(
                request(vector, replacing: ["x-docutray-event": otherEvent]),
                now: signedAt
            )
        }
    }

    @Test("Any active secret passes, so secrets can be rotated")
    func rotation() throws {
        let vector = try #require(Self.vectors.first)
        let rotating = scheme(secrets: ["whsec_new_secret_000", SignatureVector.secret])
        #expect(throws: Never.self) { try rotating.verify(request(vector), now: signedAt) }
        let retired = scheme(secrets: ["whsec_new_secret_000"])
        #expect(throws: WebhookRejection.self) { try retired.verify(request(vector), now: signedAt) }
    }

    @Test("The timestamp window is inclusive at 300 s in both directions")
    func timestampWindow() throws {
        let vector = try #require(Self.vectors.first)
        for offset in [-300.0, -1, 0, 1, 300] {
            #expect(throws: Never.self) {
                try scheme().verify(request(vector), now: signedAt.addingTimeInterval(-offset))
            }
        }
        #expect(throws: WebhookRejection.staleTimestamp(age: 301, tolerance: 300)) {
            try scheme().verify(request(vector), now: signedAt.addingTimeInterval(301))
        }
        #expect(throws: WebhookRejection.staleTimestamp(age: -301, tolerance: 300)) {
            try scheme().verify(request(vector), now: signedAt.addingTimeInterval(-301))
        }
    }

    @Test("Missing headers are named; missing signatures are signature failures")
    func missingHeaders() throws {
        let vector = try #require(Self.vectors.first)
        for name in ["x-docutray-event", "x-docutray-request-id", "x-docutray-timestamp"] {
            #expect(throws: WebhookRejection.missingHeader(name)) {
                try scheme().verify(request(vector, removing: [name]), now: signedAt)
            }
        }
        #expect(throws: WebhookRejection.missingSignature(header: "x-docutray-signature")) {
            try scheme().verify(request(vector, removing: ["x-docutray-signature"]), now: signedAt)
        }
        #expect(throws: WebhookRejection.missingSignature(header: "x-docutray-auth-signature")) {
            try scheme().verify(request(vector, removing: ["x-docutray-auth-signature"]), now: signedAt)
        }
        #expect(throws: Never.self) {
            try scheme(policy: .body).verify(request(vector, removing: ["x-docutray-auth-signature"]), now: signedAt)
        }
    }

    @Test(
        "Malformed header values are refused",
        arguments: [
            ("x-docutray-event", "conversion_completed"),
            ("x-docutray-event", "CONVERSION-COMPLETED"),
            ("x-docutray-event", String(repeating: "A", count: 101)),
            ("x-docutray-request-id", "has space"),
            ("x-docutray-request-id", String(repeating: "r", count: 201)),
            ("x-docutray-timestamp", "-1705314600"),
            ("x-docutray-timestamp", "1705314600.0"),
            ("x-docutray-timestamp", "1e9"),
            ("x-docutray-timestamp", "99999999999999"),
        ]
    )
    func malformedHeaders(name: String, value: String) throws {
        let vector = try #require(Self.vectors.first)
        do {
            _ = try scheme().verify(request(vector, replacing: [name: value]), now: signedAt)
            Issue.record("accepted \(name): \(value)")
        } catch {
            guard case .invalidHeader(let header, _) = error else {
                Issue.record("expected invalidHeader, got \(error)")
                return
            }
            #expect(header == name)
        }
    }

    @Test(
        "Malformed signatures are refused",
        arguments: [
            "d46ab62b270f45817b9013f23d35092862580ab83686ecba22dff6d8fdac120f",
            "sha1=d46ab62b270f45817b9013f23d35092862580ab83686ecba22dff6d8fdac120f",
            "sha256=d46ab62b270f45817b9013f23d35092862580ab83686ecba22dff6d8fdac120",
            "sha256=d46ab62b270f45817b9013f23d35092862580ab83686ecba22dff6d8fdac120f0",
            "sha256=z46ab62b270f45817b9013f23d35092862580ab83686ecba22dff6d8fdac120f",
            "sha256=",
        ]
    )
    func malformedSignatures(value: String) throws {
        let vector = try #require(Self.vectors.first)
        #expect(throws: WebhookRejection.self) {
            try scheme().verify(request(vector, replacing: ["x-docutray-signature": value]), now: signedAt)
        }
    }

    @Test("A signature header sent twice is refused")
    func duplicateSignature() throws {
        let vector = try #require(Self.vectors.first)
        var twice = request(vector)
        twice.headers.append(
            HTTPField(name: HTTPField.Name("x-docutray-signature")!, value: vector.headers["x-docutray-signature"]!)
        )
        #expect(throws: WebhookRejection.badSignature(header: "x-docutray-signature", reason: "sent more than once")) {
            try scheme().verify(twice, now: signedAt)
        }
    }

    @Test(
        "HMAC-SHA256 gives the known answers for short, block-sized and longer-than-block keys",
        arguments: [
            // RFC 4231 test case 2: a 4-byte key.
            (
                "Jefe", "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            // A 64-byte key (exactly one block) and a 210-byte key (hashed first); answers computed
            // with Python's hmac module, an independent implementation.
            (
                String(repeating: "k", count: 64), "a message",
                "ea089ecdfffa98e42a6cfbb50221d21c746c95e8c1af5eef10c0854cb0984f4f"
            ),
            (
                String(repeating: "secret-", count: 30), "payload",
                "a1438d19e6a8d8342bfffa057bcc0767698e97a2d992661dcf0ad2400b7cdb67"
            ),
        ]
    )
    func hmacKnownAnswers(secret: String, message: String, hex: String) {
        #expect(HMACSignature.sign(Array(message.utf8), key: SigningKey(secret: secret)) == "sha256=" + hex)
    }

    @Test("Signatures in uppercase hex are accepted; one wrong digit anywhere is refused")
    func hexCaseAndEveryDigit() throws {
        let vector = try #require(Self.vectors.first)
        let signature = vector.headers["x-docutray-signature"]!
        let upper = "sha256=" + signature.dropFirst(7).uppercased()
        #expect(throws: Never.self) {
            try scheme().verify(request(vector, replacing: ["x-docutray-signature": upper]), now: signedAt)
        }
        let digits = Array(signature.dropFirst(7))
        for index in stride(from: 0, to: digits.count, by: 7) {
            var changed = digits
            changed[index] = changed[index] == "0" ? "1" : "0"
            let forged = "sha256=" + String(changed)
            #expect(throws: WebhookRejection.self) {
                try scheme().verify(request(vector, replacing: ["x-docutray-signature": forged]), now: signedAt)
            }
        }
    }
}

extension SignatureVector: CustomTestStringConvertible {
    public var testDescription: String { "\(event) \(deliveryID)" }
}
