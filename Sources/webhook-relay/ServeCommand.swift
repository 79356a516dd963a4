import ArgumentParser
import Foundation
import Relay

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the relay against a Kafka cluster.",
        discussion: "Stops gracefully on SIGTERM or SIGINT: in-flight requests finish and the producer flushes."
    )

    @Option(name: .long, help: "YAML configuration file (default: $RELAY_CONFIG). Environment variables override it.")
    var config: String?

    func run() async throws {
        try await RelayApplication.serve(
            loadConfiguration(path: config),
            source: ConfigurationSource(
                environment: ProcessInfo.processInfo.environment,
                configPath: config,
                senders: registeredSenders
            )
        )
    }
}

/// Loads the configuration, or exits with status 78 (EX_CONFIG) and a message naming the key.
func loadConfiguration(path: String?) throws -> RelayConfiguration {
    do {
        return try RelayConfiguration.load(
            environment: ProcessInfo.processInfo.environment,
            configPath: path,
            senders: registeredSenders
        )
    } catch {
        FileHandle.standardError.write(Data("webhook-relay: \(error)\n".utf8))
        throw ExitCode(78)
    }
}
