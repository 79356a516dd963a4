import AWSAuth
import ArgumentParser
import Foundation
import Relay
import RelayKafka
import SenderKit

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Validate the configuration, or list every setting.",
        subcommands: [Check.self, Reference.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load and validate the configuration without starting; print it with secrets redacted.",
            discussion: """
                Exits 0 when valid, 78 naming the key and the problem otherwise. With --connect it also \
                connects to Kafka as the relay would (TLS, SASL and every other property) and exits 69 \
                naming what failed: a refused login, an untrusted certificate, an unreachable broker.
                """
        )

        @Option(help: "YAML configuration file (default: $RELAY_CONFIG).")
        var config: String?

        @Flag(help: "Also connect to Kafka with the configured settings and say what failed.")
        var connect = false

        @Option(help: "Seconds --connect waits for a broker to answer.")
        var connectTimeout = 10

        func run() async throws {
            let configuration = try loadConfiguration(path: config)
            print("The configuration is valid.")
            for (key, value) in configuration.redactedMetadata.sorted(by: { $0.key < $1.key }) {
                print("  \(key.dropFirst("config.".count)): \(value)")
            }
            guard connect else { return }
            let kafka = configuration.kafka
            let tokenProvider = kafka.mskIAMTokenProvider(environment: ProcessInfo.processInfo.environment)
            if let tokenProvider {
                // Which AWS credentials IAM would sign with, before Kafka is asked; the check's
                // token then comes from the same, now cached, credentials.
                do {
                    let (credentials, source) = try await tokenProvider.credentials.current()
                    print("AWS credentials: \(source) (\(credentials.accessKeyID))")
                } catch {
                    print("AWS credentials: none (\(error))")
                    throw ExitCode(69)
                }
            }
            let result = await KafkaConnectionCheck.runBlocking(
                configuration: configuration.producerConfiguration,
                tokenProvider: tokenProvider,
                timeout: .seconds(max(1, connectTimeout))
            )
            switch result {
            case .success(let connected):
                print(
                    "Kafka: connected to \(kafka.bootstrapServers) (librdkafka \(Librdkafka.version)); brokers: \(connected.brokers.joined(separator: ", "))"
                )
            case .failure(let error):
                let cause = error.isRefusal ? "refused the connection" : "did not answer"
                print("Kafka: \(kafka.bootstrapServers) \(cause) (librdkafka \(Librdkafka.version)): \(error)")
                throw ExitCode(69)
            }
        }
    }

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every setting: YAML key, environment variable, default, meaning."
        )

        func run() {
            for setting in Setting.all { print(Self.entry(setting)) }
            for sender in registeredSenders.senders {
                print("\nscheme: \(sender.name) — \(sender.summary)")
                print("  cloudevents_source default: \(sender.defaults.cloudEventSource)")
                print("  topic_template default: \(sender.defaults.topicTemplate)")
                for setting in sender.settings { print(Self.entry(setting)) }
            }
        }

        private static func entry(_ setting: Setting) -> String {
            let key = setting.key.isEmpty ? "(file)" : setting.key
            let secret = setting.isSecret ? "  (secret: never logged)" : ""
            return """
                \(key)
                  \(setting.environment)  default: \(setting.defaultValue ?? "none")  (\(setting.kind))\(secret)
                  \(setting.summary)
                """
        }
    }
}
