import ArgumentParser
import Foundation

/// One HTTP load run against one scenario, printed as a table row.
struct HTTPBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http", abstract: "Load one scenario over HTTP.")

    @Option(help: "ceiling, verify, normal, buffered or duplicate.") var scenario: String = "normal"
    @Option(help: "Body size in bytes.") var body = 1024
    @Option(help: "Concurrent connections.") var connections = 32
    @Option(help: "Fixed rate (requests per second) instead of closed loop.") var rate: Double?
    @Option(help: "Seconds measured.") var duration = 15
    @Option(help: "Seconds of warm-up, not measured.") var warmup = 3
    @Option(help: "The relay binary (release build).") var relay = BenchPaths.relayBinary
    @Option(help: "Extra relay settings, NAME=value (repeatable).") var set: [String] = []

    func run() async throws {
        guard let scenario = Scenario(rawValue: scenario) else { throw ValidationError("unknown scenario") }
        var settings: [String: String] = [:]
        for pair in set {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            settings[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let measurement = try await Measurement.run(
            scenario,
            bodySize: body,
            connections: connections,
            rate: rate,
            duration: .seconds(duration),
            warmup: .seconds(warmup),
            relayBinary: relay,
            settings: settings
        )
        print(Measurement.header)
        print(measurement.row)
    }
}

/// The result of one run: load figures plus the server's CPU and memory.
struct Measurement {
    var scenario: Scenario
    var bodySize: Int
    var connections: Int
    var rate: Double?
    var load: LoadGenerator.Result
    var cpuSeconds: Double
    var peakRSS: Int

    static let header = """
        | scenario | body | conns | rate | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | server CPU | CPU/req | peak RSS |
        |---|---|---|---|---|---|---|---|---|---|---|---|
        """

    var row: String {
        let cpu = load.seconds > 0 ? cpuSeconds / load.seconds : 0
        return
            "| \(scenario.rawValue) | \(BenchFormat.bytes(bodySize)) | \(connections) | \(rate.map { String(Int($0)) } ?? "max") | "
            + "\(Int(load.throughput)) | \(BenchFormat.ms(load.latency(50))) | \(BenchFormat.ms(load.latency(99))) | "
            + "\(BenchFormat.ms(load.latency(99.9))) | \(load.non2xx) | \(String(format: "%.0f%%", cpu * 100)) | "
            + "\(String(format: "%.0f µs", cpuPerRequest * 1e6)) | \(BenchFormat.bytes(peakRSS)) |"
    }

    /// The server's CPU time (user + system) per request answered in the measured window.
    var cpuPerRequest: Double {
        let requests = load.throughput * load.seconds
        return requests > 0 ? cpuSeconds / requests : 0
    }

    static func run(
        _ scenario: Scenario,
        bodySize: Int,
        connections: Int,
        rate: Double?,
        duration: Duration,
        warmup: Duration,
        relayBinary: String,
        settings: [String: String] = [:]
    ) async throws -> Measurement {
        // Start from a quiet disk: the previous run's buffer writes (gigabytes at 1 MiB bodies) would
        // otherwise still be going to disk during this one and show up in its latency.
        sync()
        let processes = try ScenarioProcesses(
            scenario,
            relayBinary: relayBinary,
            benchBinary: BenchPaths.benchBinary,
            extraEnvironment: settings
        )
        defer { processes.stop() }
        let requests = DocutrayRequests(
            host: "127.0.0.1",
            port: processes.port,
            bodySize: bodySize,
            repeatsOneDelivery: scenario.repeatsOneDelivery
        )
        let before = ProcessStats.read(pid: processes.server.processIdentifier)
        let load = try await LoadGenerator.run(
            host: "127.0.0.1",
            port: processes.port,
            requests: requests,
            connections: connections,
            rate: rate,
            warmup: warmup,
            duration: duration
        )
        let after = ProcessStats.read(pid: processes.server.processIdentifier)
        if let broker = processes.brokerPID, let stats = ProcessStats.read(pid: broker) {
            FileHandle.standardError.write(
                Data("broker CPU so far: \(String(format: "%.1f", stats.cpuSeconds)) s\n".utf8)
            )
        }
        // CPU over warm-up and measurement, scaled to the measured window.
        let total = Double(duration.components.seconds + warmup.components.seconds)
        let cpu = ((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)) * Double(duration.components.seconds) / total
        return Measurement(
            scenario: scenario,
            bodySize: bodySize,
            connections: connections,
            rate: rate,
            load: load,
            cpuSeconds: cpu,
            peakRSS: after?.peakRSS ?? 0
        )
    }
}

enum BenchFormat {
    static func bytes(_ count: Int) -> String {
        if count >= 1 << 20 { return String(format: "%.0f MiB", Double(count) / Double(1 << 20)) }
        if count >= 1 << 10 { return String(format: "%.0f KiB", Double(count) / Double(1 << 10)) }
        return "\(count) B"
    }

    static func ms(_ value: Double) -> String { String(format: value < 10 ? "%.2f" : "%.1f", value) }
}

enum BenchPaths {
    /// This benchmark binary.
    static var benchBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// The relay's release binary in the main package (Benchmarks/.build/release → ../../../.build/release).
    static var relayBinary: String {
        let bench = URL(fileURLWithPath: benchBinary).deletingLastPathComponent()
        let candidates = [
            bench.appendingPathComponent("../../../.build/release/webhook-relay").standardizedFileURL.path,
            FileManager.default.currentDirectoryPath + "/../.build/release/webhook-relay",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}
