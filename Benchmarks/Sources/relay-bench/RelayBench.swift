import ArgumentParser
import Relay
import SenderKit
import Senders

/// Benchmarks of webhook-relay. Results are printed as one table row each; BENCHMARKS.md holds
/// the figures and how they were produced. Started from `main.swift`.
struct RelayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-bench",
        abstract: "Measure webhook-relay: HTTP load per scenario, buffer appends, backlog drains, micro-benchmarks.",
        subcommands: [
            SuiteBenchmark.self, HTTPBenchmark.self, SoakBenchmark.self, LoadCommand.self, MicroBenchmarks.self,
            BufferAppendBenchmark.self, DrainBenchmark.self, ArchiveReplayBenchmark.self,
            InstructionsBenchmark.self, CeilingServer.self, VerifyOnlyServer.self, RelayServer.self,
            BrokerCommand.self,
        ]
    )
}
