import ArgumentParser
import Relay

/// The `webhook-relay` command: a thin layer of argument parsing over the `Relay` library.
@main
struct WebhookRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-relay",
        abstract: "Receive signed webhooks, verify them, and publish them to Kafka as CloudEvents.",
        discussion: """
            Start with `webhook-relay dev`: it runs the relay with an embedded Kafka broker and a \
            source for every sender, and prints how to send a signed event and read it back. In \
            production, `webhook-relay serve` reads its configuration from a YAML file (--config or \
            RELAY_CONFIG) and RELAY_* environment variables; `webhook-relay config reference` lists them.
            """,
        version: RelayVersion.current,
        subcommands: [
            ServeCommand.self, DevCommand.self, SignCommand.self, BufferCommand.self, ReplayCommand.self,
            ConfigCommand.self, ProbeCommand.self,
        ]
    )

    static func main() async {
        ProcessTuning.runTasksOnEventLoops()
        await main(nil)
    }
}
