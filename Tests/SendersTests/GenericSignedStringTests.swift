import Foundation
import HTTPTypes
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// The generic HMAC sender's signed-string template: other senders' own vectors verify through it
/// with configuration alone, and templates that could not be checked honestly stop the start.
@Suite("Generic HMAC signed strings")
struct GenericSignedStringTests {
    /// A generic source configured with `values`, with `secret` and, when given, a public URL.
    func scheme(_ values: [String: String], secret: String, url: String? = nil) throws -> GenericHMACScheme {
        var settings = StubSourceSettings(secrets: [secret], publicURL: url, values: values)
        return try #require(try GenericHMACSender().makeScheme(for: &settings) as? GenericHMACScheme)
    }

    static let slack = (try? SenderVector.all(scheme: "slack")) ?? []
    static let zoom = (try? SenderVector.all(scheme: "zoom")) ?? []
    static let square = (try? SenderVector.all(scheme: "square")) ?? []

    @Test("Slack's vectors verify as v0:{timestamp}:{body} with the prefix v0=", arguments: slack)
    func slackThroughTheTemplate(_ vector: SenderVector) throws {
        let generic = try scheme(
            [
                "sources.test.signature_header": "X-Slack-Signature", "sources.test.prefix": "v0=",
                "sources.test.timestamp_header": "X-Slack-Request-Timestamp",
                "sources.test.signed_string": "v0:{timestamp}:{body}", "sources.test.event_type": "/event/type",
                "sources.test.delivery_id": "/event_id",
            ],
            secret: vector.secret
        )
        // Slack's own scheme is the reference: the template must agree with it on every vector,
        // refusals included (those that only Slack's body rules refuse are not the template's).
        let slack = SlackScheme(secrets: [vector.secret])
        let native = Result { try slack.verify(vector.request, now: vector.date) }
        let templated = Result { try generic.verify(vector.request, now: vector.date) }
        switch (native, templated) {
        case (.success, .success), (.failure, .failure): break
        case (.failure(let error), .success):
            #expect(
                !Self.signatureFailure(error),
                "\(vector.name): the template accepted what Slack refused for its signature"
            )
        case (.success, .failure(let error)):
            #expect(!Self.signatureFailure(error), "\(vector.name): Slack accepted, the template refused: \(error)")
        }
    }

    @Test("Zoom's vectors verify as v0:{timestamp}:{body}", arguments: zoom)
    func zoomThroughTheTemplate(_ vector: SenderVector) throws {
        let generic = try scheme(
            [
                "sources.test.signature_header": "x-zm-signature", "sources.test.prefix": "v0=",
                "sources.test.timestamp_header": "x-zm-request-timestamp",
                "sources.test.signed_string": "v0:{timestamp}:{body}", "sources.test.event_type": "/event",
                "sources.test.delivery_id": "x-zm-trackingid",
            ],
            secret: vector.secret
        )
        let verdict = Result { try generic.verify(vector.request, now: vector.date) }
        if case .failure(let error) = verdict, vector.valid { Issue.record("\(vector.name): \(error)") }
        // Zoom writes lowercase hex; the generic scheme takes either case, so only that vector differs.
        if case .success = verdict, !vector.valid { #expect(vector.name == "neg-uppercase-hex") }
    }

    @Test("Square's vectors verify as {url}{body} in base64, against public_url plus the query", arguments: square)
    func squareThroughTheTemplate(_ vector: SenderVector) throws {
        let generic = try scheme(
            [
                "sources.test.signature_header": "x-square-hmacsha256-signature", "sources.test.encoding": "base64",
                "sources.test.signed_string": "{url}{body}", "sources.test.delivery_id": "/event_id",
            ],
            secret: vector.secret,
            url: "https://hooks.example.com/webhooks/square"
        )
        let verdict = Result { try generic.verify(vector.request, now: vector.date) }
        let accepted = (try? verdict.get()) != nil
        #expect(accepted == vector.valid, "\(vector.name)")
        #expect(generic.signedURL == "https://hooks.example.com/webhooks/square", "sign targets the signed URL")
    }

    @Test("{method}, {id} and literal text are signed where the template puts them; sign agrees")
    func everyPart() throws {
        let generic = try scheme(
            [
                "sources.test.signed_string": "{method} {url}|{id}|{timestamp}|{body}",
                "sources.test.timestamp_header": "X-Time", "sources.test.delivery_id": "X-Delivery",
            ],
            secret: "generic-secret-1",
            url: "https://hooks.example.com/webhooks/test"
        )
        #expect(generic.signedParts.contains(.deliveryID), "an id in the template is signed")
        let body = Array(#"{"type":"order.shipped"}"#.utf8)
        let delivery = OutgoingDelivery(body: body, deliveryID: "d-1", timestamp: 1_767_225_600)
        var fields = HTTPFields()
        for (name, value) in try generic.sign(delivery) { fields[HTTPField.Name(name)!] = value }
        let expected = HMACKey(secret: "generic-secret-1").code(
            for: Array("POST https://hooks.example.com/webhooks/test|d-1|1767225600|".utf8) + body
        )
        #expect(fields[HTTPField.Name("x-signature")!] == Hex.encode(expected))
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        let verified = try generic.verify(WebhookRequest(headers: fields, body: body), now: now)
        #expect(verified.deliveryID == "d-1")
        var otherID = fields
        otherID[HTTPField.Name("x-delivery")!] = "d-2"
        #expect(throws: WebhookRejection.self, "the id is signed") {
            try generic.verify(WebhookRequest(headers: otherID, body: body), now: now)
        }
        #expect(throws: WebhookRejection.self, "the method is signed") {
            try generic.verify(WebhookRequest(headers: fields, body: body, method: "PUT"), now: now)
        }
    }

    @Test(
        "Templates that cannot be checked honestly stop the start, naming signed_string",
        arguments: [
            (["sources.test.signed_string": "{timestamp}"], "{body}"),
            (["sources.test.signed_string": "{body}{body}"], "{body}"),
            (["sources.test.signed_string": "{ts}.{body}"], "{ts}"),
            (["sources.test.signed_string": "{body"], "'{'"),
            (["sources.test.signed_string": "body}"], "'}'"),
            (["sources.test.signed_string": "{timestamp}.{body}"], "timestamp_header"),
            (["sources.test.signed_string": "{body}", "sources.test.timestamp_header": "X-Time"], "{timestamp}"),
            (["sources.test.signed_string": "{url}{body}"], "public_url"),
            (["sources.test.signed_string": "{id}.{body}"], "header"),
        ] as [([String: String], String)]
    )
    func refusedTemplates(_ values: [String: String], _ named: String) {
        do {
            _ = try scheme(values, secret: "generic-secret-1")
            Issue.record("accepted \(values)")
        } catch let error as ConfigurationError {
            #expect(error.key == "sources.test.signed_string")
            #expect(error.description.contains(named), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }

    static func signatureFailure(_ error: any Error) -> Bool {
        switch error as? WebhookRejection {
        case .missingSignature, .badSignature, .staleTimestamp: true
        default: false
        }
    }
}
