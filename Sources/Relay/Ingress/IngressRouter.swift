import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The ingress listener's routes.
enum IngressRouter {
    static let webhookPath: RouterPath = "/webhooks/:source"

    static func build(ingress: WebhookIngress, readiness: Readiness, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(ProblemMiddleware(logger: logger))
        router.post(webhookPath) { request, context in
            await ingress.handle(request, source: context.parameters.get("source") ?? "")
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
