import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayPrimitives
import RelayTools

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

    private let server: LoopbackServer
    private let log = Locked<[Received]>([])
    public var port: Int { server.port }
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
        server = try await LoopbackServer(
            router: router,
            logger: Logger(label: "stand-in") { _ in SwiftLogNoOpLogHandler() }
        )
    }

    public func stop() async {
        await server.stop()
    }
}
