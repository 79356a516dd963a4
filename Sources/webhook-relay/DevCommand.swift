import ArgumentParser
import Foundation
import Logging
import Relay
import RelayTools

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run the relay with an embedded in-memory Kafka broker and a source for every sender.",
        discussion:
            "Prints the exports, a signed sample line per sender and a kcat command to try it from a second shell."
    )

    @Option(name: .long, help: "Port of the webhook listener (0 picks a free one).")
    var httpPort = 8080

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        ProcessTuning.fixMallocThreshold()
        let dev = try await DevEnvironment(httpPort: httpPort, environment: environment, senders: registeredSenders)
        RelayLogging.bootstrap(dev.configuration.logging)
        let logger = Logger(label: "webhook-relay")
        let executable = Self.executablePath()
        let relay = try await RelayApplication(configuration: dev.configuration, logger: logger) { listener, port in
            guard listener == .ingress else { return }
            FileHandle.standardOutput.write(Data(dev.instructions(port: port, executable: executable).utf8))
        }
        try await relay.run()
    }

    /// How the user invoked this binary, made absolute when it was a relative path.
    private static func executablePath() -> String {
        let invoked = CommandLine.arguments[0]
        guard invoked.contains("/") else { return invoked }
        return URL(fileURLWithPath: invoked).standardizedFileURL.path
    }
}
