import Foundation
import HTTPTypes
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The generic HMAC sender: SENDERS.md's vectors, each with its own configuration, and the settings.
@Suite("Generic HMAC sender")
struct GenericHMACTests {
    static let genericVectors = (try? SenderVector.all(scheme: "generic-hmac")) ?? []
    static let now: Int64 = 1_767_225_600

    @Test("Generic HMAC", arguments: genericVectors)
    func generic(_ vector: SenderVector) throws {
        let config = try #require(vector.config)
        let options = GenericHMACScheme.Options(
            signatureHeader: try #require(HTTPField.Name(config.header)),
            algorithm: try #require(HMACAlgorithm(rawValue: config.algorithm)),
            encoding: try #require(GenericHMACScheme.Encoding(rawValue: config.encoding)),
            prefix: config.prefix,
            timestampHeader: config.timestampHeader.flatMap { HTTPField.Name($0) },
            timestampTolerance: config.toleranceSeconds ?? 300,
            eventType: .body("/event"),
            deliveryID: .header(HTTPField.Name("x-test-delivery")!)
        )
        var fields = vector.fields
        fields[HTTPField.Name("x-test-delivery")!] = "dlv-\(vector.name)"
        let scheme = GenericHMACScheme(secrets: [vector.secret], options: options)
        if let verified = try SenderVectorTests().judge(vector, scheme: scheme, fields: fields) {
            #expect(verified.deliveryID == "dlv-\(vector.name)")
        }
    }

    func scheme(values: [String: String]) throws -> GenericHMACScheme {
        var settings = StubSourceSettings(secrets: ["generic-secret-1"], values: values)
        return try #require(try GenericHMACSender().makeScheme(for: &settings) as? GenericHMACScheme)
    }

    func request(_ headers: [(name: String, value: String)], body: [UInt8]) -> WebhookRequest {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return WebhookRequest(headers: fields, body: body)
    }

    @Test("Generic HMAC: settings are validated, and the type and id come from where they are configured")
    func genericSettings() throws {
        for (key, value) in [
            ("sources.test.algorithm", "md5"), ("sources.test.encoding", "base32"),
            ("sources.test.event_type", "not a header"), ("sources.test.delivery_id", "/"),
            ("sources.test.signature_header", "bad header"),
        ] {
            #expect(throws: ConfigurationError.self, "\(key)=\(value)") { _ = try scheme(values: [key: value]) }
        }
        let configured = try scheme(
            values: [
                "sources.test.signature_header": "X-Hook-Signature", "sources.test.algorithm": "sha512",
                "sources.test.encoding": "base64", "sources.test.prefix": "sig=",
                "sources.test.timestamp_header": "X-Hook-Time", "sources.test.event_type": "X-Hook-Event",
                "sources.test.delivery_id": "/meta/delivery",
            ]
        )
        #expect(configured.signsTimestamps)
        let body = Array(#"{"meta":{"delivery":"d-77"},"n":1}"#.utf8)
        let signed = try configured.sign(OutgoingDelivery(body: body, eventType: "thing.happened", timestamp: Self.now))
        #expect(signed.contains { $0.name == "x-hook-signature" && $0.value.hasPrefix("sig=") })
        let verified = try configured.verify(
            request(signed, body: body),
            now: Date(timeIntervalSince1970: TimeInterval(Self.now))
        )
        #expect(verified.eventType == "thing.happened")
        #expect(verified.deliveryID == "d-77")
        #expect(verified.checks == ["timestamp", "signature"])
    }
}
