import ArgumentParser

/// Benchmarks of webhook-relay. Results are printed as one table row each; BENCHMARKS.md holds
/// the figures and how they were produced.
@main
struct RelayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-bench",
        abstract: "Measure webhook-relay: buffer appends and backlog drains.",
        subcommands: [BufferAppendBenchmark.self, DrainBenchmark.self]
    )
}
