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
            await ingress.handle(request, source: context.parameters.get("source") ?? "", peer: context.remoteAddress)
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

    /// The IP address of `address`, read from NIO's description of it: `[IPv4]192.0.2.1:443`, or
    /// `[IPv4]host/192.0.2.1:443` when it has a host name (`[IPv6]…` alike); `nil` for a Unix
    /// socket. (`SocketAddress.ipAddress`, or a match on its cases, would make this module see
    /// NIO's own C socket types, and the compiler then hides Glibc's from the files that use them.)
    static func ipAddress(of address: SocketAddress) -> String? {
        let description = address.description
        guard description.hasPrefix("[IPv4]") || description.hasPrefix("[IPv6]") else { return nil }
        let rest = description.dropFirst(6)
        let start = rest.firstIndex(of: "/").map(rest.index(after:)) ?? rest.startIndex
        guard let colon = rest.lastIndex(of: ":"), start < colon else { return nil }
        return String(rest[start..<colon])
    }
}
