import Hummingbird
import HummingbirdCore
import Logging

/// A Hummingbird server on a free port of 127.0.0.1, run by a task of its own until ``stop()``:
/// the local hosts `dev` and the tests stand up (a certificate host, stand-ins for AWS endpoints).
public struct LoopbackServer: Sendable {
    /// The port it listens on.
    public let port: Int
    private let task: Task<Void, any Error>

    /// Starts the server and returns once it accepts connections.
    public init(
        router: Router<BasicRequestContext>,
        server: HTTPServerBuilder = .http1(),
        logger: Logger? = nil
    ) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        task = Task { try await application.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await bound in stream {
            port = bound
            break
        }
        self.port = port
    }

    /// Stops the server and waits until it has.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
