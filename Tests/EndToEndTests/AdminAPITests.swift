import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import RetryBuffer
import SenderKit
import Senders
import Testing

/// The admin API of a running relay: authentication, listings with every filter, single records,
/// checks, and replays read back from Kafka.
@Suite("Admin API", .serialized, .timeLimit(.minutes(3)))
struct AdminAPITests {
    static let token = "admin-token-0123456789"
    static let environment = ["RELAY_ADMIN_TOKEN": token, "RELAY_KAFKA_PUBLISH_TIMEOUT": "500ms"]
    /// With retries fast enough for a record to go dead within a test.
    static let fastRetries = environment.merging(
        ["RELAY_RETRY_INITIAL_BACKOFF": "50ms", "RELAY_RETRY_MAX_BACKOFF": "200ms"]
    ) { $1 }

    static func get(
        _ relay: TestRelay,
        _ path: String,
        token: String? = AdminAPITests.token
    ) async throws -> TestResponse {
        try await HTTPTestClient.send(
            port: relay.adminPort,
            method: "GET",
            path: path,
            headers: token.map { [("authorization", "Bearer \($0)")] } ?? []
        )
    }

    static func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try JSONDecoder().decode(type, from: Data(response.body))
    }

    /// Posts a replay request to the admin API and decodes its 200 answer.
    static func replay(_ relay: TestRelay, _ request: AdminAPI.ReplayRequest) async throws -> AdminAPI.ReplayResult {
        let response = try await HTTPTestClient.send(
            port: relay.adminPort,
            path: "/admin/replay",
            headers: [("authorization", "Bearer \(token)"), ("content-type", "application/json")],
            body: AdminAPI.encode(request)
        )
        #expect(response.status == 200, "\(response.bodyText)")
        return try decode(AdminAPI.ReplayResult.self, response)
    }

    /// Posts every fixture vector; returns them.
    static func postVectors(_ relay: TestRelay) async throws -> [SignatureVector] {
        let vectors = try SignatureVector.all()
        for vector in vectors {
            let response = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(response.status == 202)
        }
        try await waitFor { relay.application.buffer.statistics.archivedCount == vectors.count }
        return vectors
    }

    @Test("Every admin call needs the bearer token; health does not")
    func authentication() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let missing = try await Self.get(relay, "/admin/buffer", token: nil)
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate") == "Bearer")
            #expect(try Self.decode(AdminAPI.Problem.self, missing).error == "unauthorized")
            #expect(try await Self.get(relay, "/admin/buffer", token: "admin-token-wrong-value").status == 401)
            #expect(try await Self.get(relay, "/admin/buffer/records", token: nil).status == 401)
            let replay = try await HTTPTestClient.send(
                port: relay.adminPort,
                path: "/admin/replay",
                headers: [("content-type", "application/json")],
                body: Array("{}".utf8)
            )
            #expect(replay.status == 401)
            #expect(try await Self.get(relay, "/admin/buffer").status == 200)
            #expect(try await Self.get(relay, "/healthz", token: nil).status == 200)
            #expect(!relay.logs.entries.contains { $0.line.contains(Self.token) })
        }
    }

    @Test("An admin listener off loopback without a token is refused at start")
    func tokenRequiredOffLoopback() throws {
        let environment = [
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
            "RELAY_DOCUTRAY_SECRETS": "whsec_admin_test_1",
            "RELAY_DOCUTRAY_WEBHOOK_URL": "https://x.example/webhooks/docutray",
            "RELAY_ADMIN_HOST": "0.0.0.0",
        ]
        #expect {
            _ = try RelayConfiguration.load(environment: environment)
        } throws: { error in
            (error as? ConfigurationError)?.key == "admin.token"
        }
        var withToken = environment
        withToken["RELAY_ADMIN_TOKEN"] = Self.token
        #expect(throws: Never.self) { try RelayConfiguration.load(environment: withToken) }
    }

    @Test("Status counts and listings filter by state, event type, request id, time and source, in pages")
    func listings() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let vectors = try await Self.postVectors(relay)
            let status = try Self.decode(AdminAPI.Status.self, try await Self.get(relay, "/admin/buffer"))
            #expect(status.archived == vectors.count)
            #expect(status.pending == 0)
            #expect(status.dead == 0)

            func list(_ query: String) async throws -> AdminAPI.RecordPage {
                try Self.decode(AdminAPI.RecordPage.self, try await Self.get(relay, "/admin/buffer/records?\(query)"))
            }
            #expect(try await list("state=archived").records.count == vectors.count)
            #expect(try await list("state=pending").records.isEmpty)
            #expect(try await list("state=dead").records.isEmpty)
            let completed = try await list("event_type=CONVERSION_COMPLETED")
            #expect(
                Set(completed.records.map(\.deliveryID))
                    == Set(vectors.filter { $0.event == "CONVERSION_COMPLETED" }.map(\.deliveryID))
            )
            let one = try await list("request_id=req_0004_7f3a9c")
            #expect(one.records.map(\.eventType) == ["IDENTIFICATION_COMPLETED"])
            #expect(one.records.first?.body == nil, "bodies only on request")
            #expect(try await list("source=docutray").records.count == vectors.count)
            #expect(try await list("source=other").records.isEmpty)
            // The test relay's clock is 2024-01-15T10:30:00Z.
            #expect(
                try await list("since=2024-01-15T10:29:00Z&until=2024-01-15T10:31:00Z").records.count == vectors.count
            )
            #expect(try await list("since=2024-01-15T10:31:00Z").records.isEmpty)
            #expect(try await list("until=2024-01-15T10:29:00Z").records.isEmpty)

            let first = try await list("limit=4")
            #expect(first.records.count == 4)
            let next = try #require(first.next)
            let second = try await list("limit=100&after=\(next)")
            #expect(second.records.count == vectors.count - 4)
            #expect(second.next == nil)
            #expect(Set(first.records.map(\.id)).isDisjoint(with: second.records.map(\.id)))

            let bad = try await Self.get(relay, "/admin/buffer/records?state=lost")
            #expect(bad.status == 400)
            #expect(try Self.decode(AdminAPI.Problem.self, bad).error == "invalid_parameter")
        }
    }

    @Test("One record comes with its headers and its exact body; an unknown id is 404")
    func singleRecord() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let vectors = try await Self.postVectors(relay)
            let page = try Self.decode(
                AdminAPI.RecordPage.self,
                try await Self.get(relay, "/admin/buffer/records?request_id=req_unicode")
            )
            let id = try #require(page.records.first?.id)
            let record = try Self.decode(AdminAPI.Record.self, try await Self.get(relay, "/admin/buffer/records/\(id)"))
            let vector = try #require(vectors.first { $0.deliveryID == "req_unicode" })
            #expect(record.body == vector.body)
            #expect(record.state == "archived")
            #expect(record.headers?.first { $0.name == "ce_id" }?.value == "req_unicode")
            #expect(record.key == "clm_ünïcødé_€")
            #expect(try await Self.get(relay, "/admin/buffer/records/999999").status == 404)
        }
    }

    @Test("A dry run only counts; a replay republishes with the same ce_id and a replay marker")
    func replay() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            _ = try await Self.postVectors(relay)
            func replay(_ request: AdminAPI.ReplayRequest) async throws -> AdminAPI.ReplayResult {
                try await Self.replay(relay, request)
            }
            let filter = RecordFilter(state: .archived, eventType: "STEP_FAILED")
            let dry = try await replay(AdminAPI.ReplayRequest(filter: filter, topic: nil, dryRun: true))
            #expect(dry.matched == 1)
            #expect(dry.replayed == nil)
            #expect(
                try await relay.consumer().readAll(topic: "docutray.step.failed").count == 1,
                "a dry run publishes nothing"
            )

            let done = try await replay(AdminAPI.ReplayRequest(filter: filter, topic: nil, dryRun: false))
            #expect(done.matched == 1)
            #expect(done.replayed == 1)
            let messages = try await relay.consumer().waitForMessages(topic: "docutray.step.failed", count: 2)
            #expect(messages.count == 2)
            #expect(Set(messages.compactMap { $0.header("ce_id") }) == ["req_0008_7f3a9c"])
            let replayed = try #require(messages.first { $0.header("ce_relayreplay") != nil })
            #expect(replayed.value == messages.first { $0.header("ce_relayreplay") == nil }?.value)

            let copy = try await replay(
                AdminAPI.ReplayRequest(
                    filter: RecordFilter(deliveryID: "req_0000_7f3a9c"),
                    topic: "audit.copy",
                    dryRun: false
                )
            )
            #expect(copy.replayed == 1)
            let copied = try await relay.consumer().waitForMessages(topic: "audit.copy", count: 1)
            #expect(copied.first?.header("ce_id") == "req_0000_7f3a9c")
        }
    }

    @Test("Replaying a dead record publishes it and settles it")
    func replayDead() async throws {
        try await withTestRelay(environment: Self.fastRetries) { relay in
            let vector = try #require(try SignatureVector.all().first)
            let warm = try await relay.post(headers: vector.headerList, body: vector.bodyBytes)
            #expect(warm.status == 202)
            // Refused three times: the request, the retrier, the dead-letter topic. (A per-record error:
            // an authorization error would make librdkafka refuse the topic until its next metadata refresh.)
            relay.cluster.pushProduceErrors([.messageSizeTooLarge, .messageSizeTooLarge, .messageSizeTooLarge])
            let body = Array(#"{"conversion_id":"doc-dead-1"}"#.utf8)
            let dead = try await relay.post(
                headers: DeliveryFactory().headers(body: body, event: "CONVERSION_FAILED", deliveryID: "req_dead_1"),
                body: body
            )
            #expect(dead.status == 202)
            try await waitFor { relay.application.buffer.statistics.deadCount == 1 }

            let response = try await HTTPTestClient.send(
                port: relay.adminPort,
                path: "/admin/replay",
                headers: [("authorization", "Bearer \(Self.token)"), ("content-type", "application/json")],
                body: AdminAPI.encode(
                    AdminAPI.ReplayRequest(filter: RecordFilter(state: .dead), topic: nil, dryRun: false)
                )
            )
            #expect(try Self.decode(AdminAPI.ReplayResult.self, response).replayed == 1)
            #expect(relay.application.buffer.statistics.deadCount == 0)
            let messages = try await relay.consumer().waitForMessages(topic: "docutray.conversion.failed", count: 1)
            #expect(messages.first?.header("ce_id") == "req_dead_1")
        }
    }

    @Test("The online check reads every checksum")
    func check() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let vectors = try await Self.postVectors(relay)
            let report = try Self.decode(AdminAPI.CheckReport.self, try await Self.get(relay, "/admin/buffer/check"))
            #expect(report.clean)
            #expect(report.records == vectors.count)
        }
    }

    @Test("A replay bigger than a batch: counted from the index or the metadata, replayed in batches, each event once")
    func replayInBatches() async throws {
        try await withTestRelay(environment: Self.environment) { relay in
            let factory = DeliveryFactory()
            for number in 0..<1_200 {
                let step = number.isMultiple(of: 2)
                let body = Array(
                    (step ? #"{"step_execution_id":"se_\#(number)"}"# : #"{"conversion_id":"clm_\#(number)"}"#).utf8
                )
                let headers = factory.headers(
                    body: body,
                    event: step ? "STEP_FAILED" : "CONVERSION_COMPLETED",
                    deliveryID: "req_batch_\(number)"
                )
                #expect(try await relay.post(headers: headers, body: body).status == 202)
            }
            try await waitFor { relay.application.buffer.statistics.archivedCount == 1_200 }
            func replay(_ request: AdminAPI.ReplayRequest) async throws -> AdminAPI.ReplayResult {
                try await Self.replay(relay, request)
            }
            #expect(
                try await replay(.init(filter: RecordFilter(state: .archived), topic: nil, dryRun: true)).matched
                    == 1_200
            )
            let steps = RecordFilter(state: .archived, eventType: "STEP_FAILED")
            #expect(try await replay(.init(filter: steps, topic: nil, dryRun: true)).matched == 600)
            let page = try await replay(.init(filter: steps, topic: nil, dryRun: true, after: nil, limit: 100))
            #expect(page.matched == 100)

            let result = try await replay(.init(filter: steps, topic: "replayed.steps", dryRun: false))
            #expect(result.matched == 600)
            #expect(result.replayed == 600)
            #expect(result.failed == 0)
            let messages = try await relay.consumer().waitForMessages(topic: "replayed.steps", count: 600)
            let ids = messages.compactMap { $0.header("ce_id") }
            #expect(ids.count == 600)
            #expect(Set(ids).count == 600, "each replayed once")
            #expect(ids.allSatisfy { Int($0.dropFirst("req_batch_".count)).map { $0.isMultiple(of: 2) } == true })
            #expect(messages.allSatisfy { $0.header("ce_relayreplay") != nil })
        }
    }
}
