import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayPrimitives

/// A plain HTTP server on 127.0.0.1 standing in for an AWS endpoint (STS, the instance metadata
/// service, the container credentials agent): it records every request and answers with what the
/// test's closure returns.
public final class StandInServer: Sendable {
    public struct Received: Sendable {
        public var method: String
        public var path: String
        /// Header values by lowercased name.
        public var headers: [String: String]
        public var body: String
    }

    public typealias Answer = @Sendable (Received) -> (status: Int, body: String)

    private let task: Task<Void, any Error>
    private let log = Locked<[Received]>([])
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    public var received: [Received] { log.withLock { $0 } }

    public init(_ answer: @escaping Answer) async throws {
        let log = self.log
        let router = Router()
        @Sendable func handle(_ request: Request, _: BasicRequestContext) async throws -> Response {
            let body = try await request.body.collect(upTo: 1 << 20)
            /// Header values by lowercased name.
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = Received(
                method: request.method.rawValue,
                path: request.uri.path,
                headers: headers,
                body: String(buffer: body)
            )
            log.withLock { $0.append(received) }
            let (status, text) = answer(received)
            return Response(
                status: HTTPResponse.Status(code: status),
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
        for method in [HTTPRequest.Method.get, .put, .post] {
            router.on("/", method: method, use: handle)
            router.on("**", method: method, use: handle)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "stand-in") { _ in SwiftLogNoOpLogHandler() }
        )
        task = Task { try await application.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await bound in stream {
            port = bound
            break
        }
        self.port = port
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
