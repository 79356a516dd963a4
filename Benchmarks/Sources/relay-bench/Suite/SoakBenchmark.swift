import ArgumentParser
import Foundation

/// The relay at a fixed rate for a long time, sampling its memory and open files, to show nothing
/// grows without bound.
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Fixed-rate run sampling RSS, files and buffer size."
    )

    @Option(help: "Seconds to run.") var duration = 600
    @Option(help: "Requests per second.") var rate: Double = 1000
    @Option(help: "Seconds between samples.") var interval = 30
    @Option(help: "Body size in bytes.") var body = 1024
    @Option(help: "The relay binary (release build).") var relay = BenchPaths.relayBinary
    @Option(help: "Archive retention passed to the relay (the buffer stays bounded by it and by its size).")
    var archiveRetention = "60s"
    @Option(help: "Extra relay settings, NAME=value (repeatable).")
    var set: [String] = []

    func run() async throws {
        var settings = ["RELAY_ARCHIVE_RETENTION": archiveRetention]
        for pair in set {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            settings[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let processes = try ScenarioProcesses(
            .normal,
            relayBinary: relay,
            benchBinary: BenchPaths.benchBinary,
            extraEnvironment: settings
        )
        defer { processes.stop() }
        let pid = processes.server.processIdentifier
        let requests = DocutrayRequests(host: "127.0.0.1", port: processes.port, bodySize: body)
        print("| t (s) | RSS | open files | buffer on disk |\n|---|---|---|---|")
        let bufferPath = processes.bufferPath
        let interval = self.interval
        let sampler = Task {
            var elapsed = 0
            while !Task.isCancelled {
                if let stats = ProcessStats.read(pid: pid) {
                    let buffer = directorySize(bufferPath)
                    printNow(
                        "| \(elapsed) | \(BenchFormat.bytes(stats.rss)) | \(stats.openFiles) | \(BenchFormat.bytes(buffer)) |"
                    )
                }
                try? await Task.sleep(for: .seconds(interval))
                elapsed += interval
            }
        }
        let load = try await LoadGenerator.run(
            host: "127.0.0.1",
            port: processes.port,
            requests: requests,
            connections: 32,
            rate: rate,
            warmup: .seconds(0),
            duration: .seconds(duration)
        )
        sampler.cancel()
        let stats = ProcessStats.read(pid: pid)
        print(
            "\nsoak | \(Int(rate)) req/s for \(duration) s | completed \(load.completed) | non-2xx \(load.non2xx)"
                + (load.non2xx > 0 ? " (\(load.non2xxBreakdown))" : "") + " | "
                + "p99 \(BenchFormat.ms(load.latency(99))) ms | peak RSS \(BenchFormat.bytes(stats?.peakRSS ?? 0))"
        )
    }
}

func directorySize(_ path: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    for case let file as String in enumerator {
        total += (try? FileManager.default.attributesOfItem(atPath: path + "/" + file)[.size] as? Int) ?? 0
    }
    return total
}
