import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Relay
import RelayKafka
import SenderKit
import Senders

/// Hummingbird's floor (the ceiling): a route that collects the body and answers 202 with a small
/// JSON body, doing nothing else, so the relay's ratio to its framework is known.
struct CeilingServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-ceiling",
        abstract: "Hummingbird's floor: collect the body, answer 202 (the ceiling)."
    )
    @Option var port = 0

    func run() async throws {
        let router = Router()
        router.post("/webhooks/:source") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 8 << 20)
            return Response(
                status: .accepted,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"id":"x","status":"published"}"#))
            )
        }
        try await serve(router, port: port)
    }
}

/// The request path without Kafka: body collection, signature verification, JSON validation,
/// envelope and topic; answers 202 without publishing.
struct VerifyOnlyServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-verify",
        abstract: "Verification and envelope only, no Kafka."
    )
    @Option var port = 0
    @Option var webhookURL: String

    func run() async throws {
        let scheme = DocutrayScheme(secrets: [DocutrayRequests.secret], webhookURL: webhookURL)
        let envelope = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com")
        let topics = try TopicRouter(template: DocutraySender().defaults.topicTemplate)
        let router = Router()
        router.post("/webhooks/:source") { request, _ -> Response in
            let body = try await request.bodyBytes(upTo: 8 << 20)
            let webhook = try scheme.verify(WebhookRequest(headers: request.headers, body: body), now: Date())
            let descriptor = scheme.describe(eventType: webhook.eventType)
            let fields = try JSONScanner.scan(body, capturing: descriptor.keyField.map { [$0] } ?? [])
            let event = RelayEvent(
                source: "docutray",
                webhook: webhook,
                descriptor: descriptor,
                subject: fields.first ?? nil,
                body: body,
                receivedAt: Date()
            )
            let record = envelope.record(for: event, topic: topics.topic(source: "docutray", descriptor: descriptor))
            return Response(
                status: .accepted,
                headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: #"{"id":"\#(webhook.deliveryID)","status":"verified","topic":"\#(record.topic)"}"#
                    )
                )
            )
        }
        try await serve(router, port: port)
    }
}

/// The relay as `webhook-relay serve` runs it (``RelayApplication/serve(_:)``, configured by
/// `RELAY_*` variables), with the Docutray sender only, in this binary: valgrind cannot run
/// `webhook-relay` itself, whose async `main` parks the main thread where valgrind crashes (see
/// `main.swift`).
struct RelayServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-relay",
        abstract: "The relay's `serve`, configured by RELAY_* variables (for callgrind)."
    )

    func run() async throws {
        try await RelayApplication.serve(
            RelayConfiguration.load(
                environment: ProcessInfo.processInfo.environment,
                senders: SenderRegistry([DocutraySender()])
            )
        )
    }
}

/// librdkafka's mock cluster in a process of its own, so the broker does not share the relay's.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a mock Kafka cluster; print its address."
    )

    func run() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        printNow("bootstrap \(cluster.bootstrapServers)")
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// Serves `router` on 127.0.0.1 and prints the port once listening. Logs go through the relay's
/// text log handler, as in `webhook-relay serve`, so the floors carry the relay's logging costs.
func serve(_ router: Router<BasicRequestContext>, port: Int) async throws {
    LoggingSystem.bootstrap { label in TextLogHandler(label: label) { FileHandle.standardError.write(Data($0.utf8)) } }
    let application = Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
        onServerRunning: { channel in
            printNow("listening \(channel.localAddress?.port ?? port)")
        }
    )
    try await application.runService()
}

/// Prints a line and flushes it at once (the orchestrator reads it from a pipe).
func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
