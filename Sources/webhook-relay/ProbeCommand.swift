import ArgumentParser
import Foundation
import Relay
import SenderKit

/// A health probe for container runtimes whose images have no curl (the relay's slim image).
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check a running relay's /readyz (or /healthz): exit 0 when it answers 200.",
        discussion: "For Docker HEALTHCHECK and similar: webhook-relay probe --port 8080"
    )

    @Option(help: "Host of the relay.") var host = "127.0.0.1"
    @Option(help: "Port of the webhook (or admin) listener (default: $RELAY_HTTP_PORT, else 8080).") var port: Int?
    @Option(help: "readyz or healthz.") var check = "readyz"

    func run() async throws {
        let port = port ?? Setting.httpPort.value(in: ProcessInfo.processInfo.environment).flatMap { Int($0) } ?? 0
        guard ["readyz", "healthz"].contains(check) else { throw ValidationError("--check must be readyz or healthz") }
        do {
            let answer = try await MinimalHTTPClient.send(
                host: host,
                port: port,
                method: "GET",
                path: "/\(check)",
                timeout: .seconds(5)
            )
            print(answer.bodyText)
            if answer.status != 200 { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("webhook-relay probe: \(host):\(port) did not answer: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
