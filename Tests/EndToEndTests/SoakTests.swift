import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

/// A short soak for `make test` (`make soak` runs ten minutes): thousands of requests, each on a
/// connection of its own, leave no file descriptors behind and do not grow memory without bound.
@Suite("Short soak", .serialized, .timeLimit(.minutes(5)))
struct SoakTests {
    /// Open descriptors and resident memory of a process, from /proc.
    static func sample(_ pid: Int32) throws -> (files: Int, rss: Int) {
        let files = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int($0) })
        return (files, kilobytes * 1024)
    }

    static func load(_ relay: RelayProcess, round: Int, requests: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for sender in 0..<8 {
                group.addTask {
                    var accepted = 0
                    for number in stride(from: sender, to: requests, by: 8) {
                        let answer = try await relay.post("req_soak_\(round)_\(number)", document: "doc-\(number % 16)")
                        if answer.status == 202 { accepted += 1 }
                    }
                    return accepted
                }
            }
            return try await group.reduce(0, +)
        }
    }

    @Test("4,000 requests on as many connections: open files back where they were, memory bounded")
    func filesAndMemoryStayBounded() async throws {
        let cluster = try MockKafkaCluster()
        let relay = try await RelayProcess.start(
            cluster: cluster,
            buffer: TestRelay.temporaryDirectory(prefix: "relay-soak")
        )
        defer { relay.process.signal(SIGKILL) }
        let pid = relay.process.processIdentifier

        #expect(try await Self.load(relay, round: 0, requests: 1000) == 1000)
        let before = try Self.sample(pid)
        #expect(try await Self.load(relay, round: 1, requests: 3000) == 3000)
        try await Task.sleep(for: .milliseconds(500))
        let after = try Self.sample(pid)
        #expect(after.files <= before.files + 4, "open files \(before.files) → \(after.files)")
        #expect(after.rss < before.rss + 64 << 20, "RSS \(before.rss >> 20) MiB → \(after.rss >> 20) MiB")
        print("soak (short): files \(before.files) → \(after.files), RSS \(before.rss >> 20) → \(after.rss >> 20) MiB")
    }
}
