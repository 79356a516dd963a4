import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SenderKit

/// The ingress listener's routes.
enum IngressRouter {
    static let webhookPath: RouterPath = "/webhooks/:source"

    static func build(ingress: WebhookIngress, readiness: Readiness, logger: Logger) -> Router<IngressRequestContext> {
        let router = Router(context: IngressRequestContext.self)
        router.middlewares.add(ProblemMiddleware(logger: logger))
        router.post(webhookPath) { request, context in
            await ingress.handle(request, source: context.parameters.get("source") ?? "", peer: context.peer)
        }
        for method in [HTTPRequest.Method.get, .put, .patch, .delete, .head, .options] {
            router.on(webhookPath, method: method) { request, _ -> Response in
                throw HTTPProblem.methodNotAllowed(request.method)
            }
        }
        router.get("/readyz") { _, _ in readiness.response }
        router.get("/healthz") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.object(["status": .string("ok")])))
            )
        }
        return router
    }
}

/// The ingress's request context: Hummingbird's basics and the peer's address, which a sender's
/// scheme may read (``WebhookRequest/peer``).
struct IngressRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text, e.g. `127.0.0.1`: the host NIO gave the address it accepted
    /// from, which is the address itself. (`SocketAddress.ipAddress`, inlined here, would make this
    /// module see NIO's own C socket types and hide Glibc's from the files that use them.)
    var peer: String? {
        switch remoteAddress {
        case .v4(let address): address.host
        case .v6(let address): address.host
        default: nil
        }
    }
}
