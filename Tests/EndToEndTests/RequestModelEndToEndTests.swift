import Foundation
import HTTPTypes
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Testing

/// What a scheme is handed, through a real server: the method, the public URL with the query the
/// request came with, the path, the query, the content type and the peer, as the relay received them.
@Suite("The request a scheme sees, end to end", .serialized, .timeLimit(.minutes(2)))
struct RequestModelEndToEndTests {
    /// A sender whose scheme records each request it verifies and accepts it as one event.
    struct RecordingSender: Sender {
        let seen: Locked<[WebhookRequest]>

        struct Scheme: WebhookScheme {
            let seen: Locked<[WebhookRequest]>

            func verify(
                _ request: WebhookRequest,
                now: Date,
                fields: BodyFields
            ) throws(WebhookRejection) -> VerifiedWebhook {
                seen.withLock { $0.append(request) }
                return VerifiedWebhook(
                    eventType: "seen",
                    deliveryID: "seen-\(seen.withLock { $0.count })",
                    signedAt: nil,
                    checks: ["recorded"],
                    forwardedHeaders: []
                )
            }

            func describe(eventType: String) -> EventDescriptor {
                EventName.describe(eventType, cloudEventTypePrefix: nil, keyField: nil, isKnown: true)
            }

            var bodyKinds: BodyKinds { [.jsonObject, .form, .text] }
            var signedParts: SignedParts { .all }
            var loggedHeaders: LoggedHeaders { LoggedHeaders() }
        }

        var name: String { "recording" }
        var summary: String { "records what it is handed" }
        var defaults: SenderDefaults {
            SenderDefaults(cloudEventSource: "urn:recording", topicTemplate: "{source}.{event}")
        }

        func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
            Scheme(seen: seen)
        }
    }

    @Test("Method, public URL + query, path, query, content type and peer reach the scheme as received")
    func schemeSeesTheRequest() async throws {
        let seen = Locked<[WebhookRequest]>([])
        let environment = [
            "RELAY_RECORDING_SECRETS": "a-secret-of-32-bytes-0123456789ab",
            "RELAY_RECORDING_PUBLIC_URL": "https://hooks.example.com/webhooks/recording",
        ]
        let relay = try await TestRelay.start(
            environment: environment,
            senders: SenderRegistry([RecordingSender(seen: seen)])
        )
        defer { Task { try? await relay.stop() } }
        let form = try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/recording?portal=62515&app=hub%20app",
            headers: [("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "evil.example")],
            body: Array("a=1&b=Caf%C3%A9".utf8)
        )
        #expect(form.status == 202, "\(form.bodyText)")
        let text = try await HTTPTestClient.send(
            port: relay.port,
            path: "/webhooks/recording",
            headers: [("content-type", "text/plain")],
            body: Array("hello".utf8)
        )
        #expect(text.status == 202, "\(text.bodyText)")
        let requests = seen.withLock { $0 }
        #expect(requests.count == 2)
        guard requests.count == 2 else { return }
        let first = requests[0]
        #expect(first.method == "POST")
        #expect(first.url == "https://hooks.example.com/webhooks/recording?portal=62515&app=hub%20app", "never Host")
        #expect(first.path == "/webhooks/recording")
        #expect(first.query == "portal=62515&app=hub%20app", "the query as it arrived, not decoded")
        #expect(first.mediaType == .form)
        #expect(first.form?.fields.map(\.value) == ["1", "Café"])
        #expect(first.peer == "127.0.0.1", "the peer the server accepted")
        #expect(requests[1].url == "https://hooks.example.com/webhooks/recording" && requests[1].query == nil)
        #expect(requests[1].mediaType == .text)
        let records = try await relay.consumer().waitForMessages(topic: "recording.seen", count: 2)
        #expect(
            records.compactMap { $0.header("content-type") }.sorted() == [
                "application/x-www-form-urlencoded", "text/plain; charset=utf-8",
            ]
        )
        try await relay.stop()
    }
}
