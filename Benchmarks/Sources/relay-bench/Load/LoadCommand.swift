import ArgumentParser

/// Load on a relay that is already running (for profiling it under a profiler of your choice).
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive a running relay (its webhook URL must be http://127.0.0.1:PORT/webhooks/docutray)."
    )

    @Option var port: Int
    @Option var rate: Double?
    @Option var connections = 32
    @Option var duration = 30
    @Option var body = 1024

    func run() async throws {
        let result = try await LoadGenerator.run(
            host: "127.0.0.1",
            port: port,
            requests: DocutrayRequests(host: "127.0.0.1", port: port, bodySize: body),
            connections: connections,
            rate: rate,
            warmup: .seconds(1),
            duration: .seconds(duration)
        )
        print(
            "completed \(result.completed) (\(Int(result.throughput)) req/s), non-2xx \(result.non2xx), p99 \(BenchFormat.ms(result.latency(99))) ms"
        )
    }
}
