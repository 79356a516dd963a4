import ArgumentParser
import Foundation
import HTTPTypes
import Relay
import RelayPrimitives
import RetryBuffer
import SenderKit
import Senders

/// Micro-benchmarks of the request path's pieces: time per operation, best of several rounds.
struct MicroBenchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "Time verification, envelope, JSON and CRC per operation."
    )

    @Option(help: "Iterations per round.") var iterations = 20_000
    @Option(help: "Run only the operations whose name contains this text.") var only: String?

    func run() async throws {
        let requests = DocutrayRequests(host: "127.0.0.1", port: 8080, bodySize: 1024)
        var generator = requests
        let head = String(buffer: generator.nextHead())
        var headers = HTTPFields()
        for line in head.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let name = HTTPField.Name(String(parts[0])) else { continue }
            headers.append(HTTPField(name: name, value: parts[1].trimmingCharacters(in: .whitespaces)))
        }
        let body = Array(requests.body.readableBytesView)
        let request = WebhookRequest(headers: headers, body: body)
        let scheme = DocutrayScheme(secrets: [DocutrayRequests.secret], webhookURL: requests.webhookURL)
        let now = Date()
        let webhook = try scheme.verify(request, now: now)
        let descriptor = scheme.describe(eventType: webhook.eventType)
        let envelope = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com")
        let event = RelayEvent(
            source: "docutray",
            webhook: webhook,
            descriptor: descriptor,
            subject: "clm",
            body: body,
            receivedAt: now
        )
        let key = SigningKey(secret: DocutrayRequests.secret)
        let megabyte = [UInt8](repeating: 0x61, count: 1 << 20)

        print("| operation | time per op |")
        print("|---|---|")
        report("verify both signatures, 1 KiB body (Docutray scheme)") { _ = try? scheme.verify(request, now: now) }
        report("HMAC-SHA256 of a 1 KiB body") { _ = HMACSignature.sign(body, key: key) }
        report("JSON validation + id capture, 1 KiB") {
            _ = try? JSONScanner.scanObject(body, capturing: ["conversion_id"])
        }
        report("CloudEvents envelope (binary), 1 KiB") {
            _ = envelope.record(for: event, topic: "docutray.conversion.completed")
        }
        report("body digest for dedup (CRC-32C), 1 KiB") { _ = BodyDigest(of: body) }
        report("CRC-32C, 1 KiB") { _ = CRC32C.checksum(body) }
        report("CRC-32C, 1 MiB", iterations: 200) { _ = CRC32C.checksum(megabyte) }
    }

    private func report(_ name: String, iterations: Int? = nil, _ body: () -> Void) {
        if let only, !name.contains(only) { return }
        let count = iterations ?? self.iterations
        for _ in 0..<max(1, count / 10) { body() }
        var best = Duration.seconds(3600)
        for _ in 0..<5 {
            let started = ContinuousClock.now
            for _ in 0..<count { body() }
            best = min(best, ContinuousClock.now - started)
        }
        let nanoseconds = best.seconds * 1e9
        let perOperation = nanoseconds / Double(count)
        let text =
            perOperation >= 1_000_000
            ? String(format: "%.2f ms", perOperation / 1e6) : String(format: "%.2f µs", perOperation / 1e3)
        print("| \(name) | \(text) |")
    }
}
