import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import Testing

/// Bodies are held whole before any check, so memory is bounded by how many are held at once
/// (`http.max_body_bytes_in_flight`), not by how many an attacker sends.
@Suite("Memory under hostile load", .serialized, .timeLimit(.minutes(3)))
struct MemoryBudgetTests {
    static let script = Repository.path("Tests/HTTPClients/concurrent_uploads.py")
    static let uploads = 60
    static let size = 5 << 20
    static let budget = 64 << 20

    @Test("60 unsigned 5 MiB uploads held open at once: RSS stays within the body budget and the relay keeps answering")
    func concurrentUnsignedUploads() async throws {
        let cluster = try MockKafkaCluster()
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-memory"),
            extra: ["RELAY_GITHUB_SECRETS": "gh-memory-budget-secret-0001"]
        )
        defer { relay.process.signal(SIGKILL) }
        #expect(try await relay.post("req_memory_warm", document: "doc-warm").status == 202)
        let pid = relay.process.processIdentifier
        let before = try SoakTests.sample(pid).rss

        let directory = TestRelay.temporaryDirectory(prefix: "uploads")
        let ready = directory + "/ready"
        let release = directory + "/release"
        let attack = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", Self.script, String(relay.port), "/webhooks/github", String(Self.uploads),
                String(Self.size), ready, release,
            ]
        )
        defer { if attack.isRunning { attack.signal(SIGKILL) } }
        var peak = before
        let deadline = ContinuousClock.now.advanced(by: .seconds(90))
        while !FileManager.default.fileExists(atPath: ready) {
            #expect(attack.isRunning, "the uploads stopped early: \(attack.standardError)")
            guard attack.isRunning, ContinuousClock.now < deadline else { break }
            peak = max(peak, try SoakTests.sample(pid).rss)
            try await Task.sleep(for: .milliseconds(50))
        }
        // Every upload now holds its body but the last byte: what the relay keeps, it keeps now.
        for _ in 0..<10 {
            peak = max(peak, try SoakTests.sample(pid).rss)
            try await Task.sleep(for: .milliseconds(100))
        }
        let started = ContinuousClock.now
        let during = try await relay.post("req_memory_during", document: "doc-during")
        #expect(during.status == 202, "a real delivery during the attack: \(during.bodyText)")
        #expect(started.duration(to: .now) < .seconds(5))
        peak = max(peak, try SoakTests.sample(pid).rss)

        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        #expect(await attack.waitForExit(timeout: .seconds(90)) == 0, "\(attack.standardError)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(attack.standardOutput.utf8)) as? [String: Any],
            "\(attack.standardOutput) \(attack.standardError)"
        )
        let statuses = try #require(report["statuses"] as? [String: Int])
        #expect((report["errors"] as? [String])?.isEmpty == true, "\(report)")
        let admitted = Self.budget / Self.size
        #expect(statuses["401"] ?? 0 <= admitted, "at most the budget's worth is read and verified: \(statuses)")
        #expect(statuses["503"] ?? 0 >= Self.uploads - admitted, "the rest is refused from the head: \(statuses)")
        #expect(statuses.values.reduce(0, +) == Self.uploads, "every upload got an answer: \(statuses)")
        #expect(Set(statuses.keys).isSubset(of: ["401", "503"]), "\(statuses)")

        let growth = peak - before
        print(
            "memory budget: RSS \(before >> 20) MiB → peak \(peak >> 20) MiB with \(Self.uploads) uploads; \(statuses)"
        )
        #expect(
            growth < Self.budget + 40 << 20,
            "RSS grew \(growth >> 20) MiB for \(Self.uploads) × \(Self.size >> 20) MiB uploads (budget \(Self.budget >> 20) MiB)"
        )
        #expect(try await relay.post("req_memory_after", document: "doc-after").status == 202)
        let metrics = try await HTTPTestClient.send(
            port: relay.adminPort,
            method: "GET",
            path: "/metrics",
            headers: [("authorization", "Bearer \(RelayProcess.adminToken)")]
        )
        #expect(metrics.bodyText.contains(#"outcome="overloaded""#))
    }
}
