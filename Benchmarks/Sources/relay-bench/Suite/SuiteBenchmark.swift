import ArgumentParser
import Foundation

/// The whole table: every scenario at every body size at 32 connections, the relay's latency at
/// half its maximum rate, and the ratios within the run (normal to verify-only, each to
/// Hummingbird's floor, and the relay without its Kafka path, answering retries, to both).
/// `make bench` runs this.
struct SuiteBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run every HTTP scenario and print the table."
    )

    @Option(help: "Seconds measured per run.") var duration = 10
    @Option(help: "Seconds of warm-up per run.") var warmup = 3
    @Option(help: "Connections of the closed-loop runs.") var connections = 32
    @Option(help: "Body sizes in bytes.") var sizes: [Int] = [1024, 16 * 1024, 1 << 20]
    @Option(help: "The relay binary (release build).") var relay = BenchPaths.relayBinary

    func run() async throws {
        print("Machine: \(ProcessInfo.processInfo.activeProcessorCount) CPUs, relay \(relay)\n")
        print(Measurement.header)
        var ratios: [String] = []
        var normalOneKiB: Measurement?
        for size in sizes {
            var bySize: [Scenario: Measurement] = [:]
            for scenario in Scenario.allCases {
                let measurement = try await Measurement.run(
                    scenario,
                    bodySize: size,
                    connections: connections,
                    rate: nil,
                    duration: .seconds(duration),
                    warmup: .seconds(warmup),
                    relayBinary: relay
                )
                print(measurement.row)
                bySize[scenario] = measurement
            }
            if size == 1024 { normalOneKiB = bySize[.normal] }
            let ceiling = bySize[.ceiling]?.load.throughput ?? 0
            let normal = bySize[.normal]?.load.throughput ?? 0
            let buffered = bySize[.buffered]?.load.throughput ?? 0
            let verify = bySize[.verify]?.load.throughput ?? 0
            let duplicate = bySize[.duplicate]?.load.throughput ?? 0
            let cpuRatio = ratio(bySize[.normal]?.cpuPerRequest ?? 0, bySize[.verify]?.cpuPerRequest ?? 0)
            ratios.append(
                "| \(BenchFormat.bytes(size)) | \(ratio(normal, verify)) | \(cpuRatio) | \(ratio(buffered, normal)) | "
                    + "\(ratio(verify, ceiling)) | \(ratio(normal, ceiling)) | \(ratio(duplicate, verify)) | "
                    + "\(ratio(normal, duplicate)) |"
            )
        }
        if let normal = normalOneKiB, normal.load.throughput > 0 {
            let half = (normal.load.throughput / 2).rounded()
            let paced = try await Measurement.run(
                .normal,
                bodySize: 1024,
                connections: connections,
                rate: half,
                duration: .seconds(duration),
                warmup: .seconds(warmup),
                relayBinary: relay
            )
            print(paced.row)
        }
        print(
            "\n| body | normal / verify | CPU per request, normal / verify | buffered / normal | verify / floor | normal / floor "
                + "| duplicate / verify | normal / duplicate |\n|---|---|---|---|---|---|---|---|"
        )
        for line in ratios { print(line) }
    }

    private func ratio(_ value: Double, _ base: Double) -> String {
        base > 0 ? String(format: "%.2f×", value / base) : "n/a"
    }
}
