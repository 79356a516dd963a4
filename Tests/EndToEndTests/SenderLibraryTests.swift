import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// Deliveries signed by the senders' own libraries (standardwebhooks, svix, stripe, slack_sdk,
/// githubkit, hubspot-api-client, twilio, Adyen; squareup's and paddle-python-sdk's verifiers accept
/// the Square and Paddle deliveries first) and sent the way senders send: urllib with
/// `Connection: close`, http.client on a kept-alive connection, and curl
/// (`Tests/SenderLibraries/send_with_sender_libraries.py`).
@Suite("Deliveries signed by the senders' own libraries", .serialized, .timeLimit(.minutes(3)))
struct SenderLibraryTests {
    static let script = Repository.path("Tests/SenderLibraries/send_with_sender_libraries.py")
    static let adyenKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

    @Test("Every library's delivery is published once, byte for byte, and its retry answered as a duplicate")
    func librariesSign() async throws {
        let environment = SenderEndToEndTests.environment.merging(["RELAY_ADYEN_SECRETS": Self.adyenKey]) { $1 }
        let secrets = [
            "standard-webhooks": environment["RELAY_STANDARD_WEBHOOKS_SECRETS"],
            "stripe": environment["RELAY_STRIPE_SECRETS"], "slack": environment["RELAY_SLACK_SECRETS"],
            "github": environment["RELAY_GITHUB_SECRETS"], "hubspot": environment["RELAY_HUBSPOT_SECRETS"],
            "hubspot_url": environment["RELAY_HUBSPOT_PUBLIC_URL"], "twilio": environment["RELAY_TWILIO_SECRETS"],
            "twilio_url": environment["RELAY_TWILIO_PUBLIC_URL"], "adyen": Self.adyenKey,
            "square": environment["RELAY_SQUARE_SECRETS"], "square_url": environment["RELAY_SQUARE_PUBLIC_URL"],
            "paddle": environment["RELAY_PADDLE_SECRETS"],
        ]
        let secretsJSON = String(decoding: try JSONSerialization.data(withJSONObject: secrets), as: UTF8.self)
        try await withTestRelay(
            environment: environment,
            clock: ManualWallClock(unixSeconds: SenderEndToEndTests.now)
        ) { relay in
            let run = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", Self.script, "http://127.0.0.1:\(relay.port)", String(SenderEndToEndTests.now),
                    secretsJSON,
                ],
                environment: ProcessInfo.processInfo.environment
            )
            #expect(run.status == 0, "\(run.stderr)")
            let results = try run.stdout.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            #expect(results.count == 10, "\(run.stdout)")
            let consumer = try relay.consumer()
            for result in results {
                let source = try #require(result["source"] as? String)
                let id = try #require(result["id"] as? String)
                let value = Array(((result["value"] as? String) ?? "").utf8)
                if source == "adyen" {
                    // Adyen requires [accepted] for every accepted delivery, the retries included.
                    for client in ["first", "second", "third"] {
                        #expect(result[client] as? Int == 200 && result[client + "_answer"] as? String == "[accepted]")
                    }
                    let messages = try await consumer.waitForMessages(topic: "adyen.authorisation", count: 1)
                    #expect(messages.filter { $0.header("ce_id") == id }.map(\.value) == [value], "once, as sent")
                    continue
                }
                #expect(result["first"] as? Int == 202, "\(source) \(id): \(result["first_answer"] ?? "")")
                for retry in ["second", "third"] {
                    #expect(
                        result[retry] as? Int == 200,
                        "\(source) \(id) \(retry): \(result[retry + "_answer"] ?? "")"
                    )
                    #expect((result[retry + "_answer"] as? String)?.contains(#""status":"duplicate""#) == true)
                }
                var answer = try #require(
                    try JSONSerialization.jsonObject(with: Data(((result["first_answer"] as? String) ?? "").utf8))
                        as? [String: Any]
                )
                #expect(answer["id"] as? String == id)
                // A batch (HubSpot's) answers per event; this one carries one.
                if let events = answer["events"] as? [[String: Any]] { answer = try #require(events.first) }
                let topic = try #require(answer["topic"] as? String)
                let messages = try await consumer.waitForMessages(topic: topic, count: 1)
                let published = messages.filter { $0.header("ce_id") == id }
                #expect(published.count == 1, "\(source) \(id) published once")
                #expect(published.first?.value == value)
            }
        }
    }
}
