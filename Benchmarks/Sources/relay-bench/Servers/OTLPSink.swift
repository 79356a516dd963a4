import Foundation
import Hummingbird
import Logging
import RelayPrimitives

/// An OTLP/HTTP trace endpoint in the benchmark's own process, outside what is measured: it takes
/// every export and answers 200 with an empty `ExportTraceServiceResponse` (a protobuf message with
/// no fields is zero bytes), counting exports and bytes, so the relay exports as it would to a
/// healthy collector.
final class OTLPSink: Sendable {
    let port: Int
    private let counts: Locked<(exports: Int, bytes: Int)>
    private let running: Task<Void, any Error>

    private init(port: Int, counts: Locked<(exports: Int, bytes: Int)>, running: Task<Void, any Error>) {
        self.port = port
        self.counts = counts
        self.running = running
    }

    static func start() async throws -> OTLPSink {
        let counts = Locked((exports: 0, bytes: 0))
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 << 20)
            counts.withLock { $0 = ($0.exports + 1, $0.bytes + body.readableBytes) }
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: ResponseBody())
        }
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "otlp-sink")
        logger.logLevel = .error
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in sink.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let running = Task { try await application.runService() }
        var port = 0
        for await bound in ports {
            port = bound
            break
        }
        return OTLPSink(port: port, counts: counts, running: running)
    }

    /// Exports and bytes received so far.
    var received: (exports: Int, bytes: Int) { counts.withLock { $0 } }

    func stop() { running.cancel() }
}
