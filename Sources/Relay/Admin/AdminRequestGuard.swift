import HTTPTypes
import Hummingbird
import SenderKit

/// Refuses what a web page in the operator's browser could make it send to the admin listener,
/// token or not (there is none by default on loopback):
///
/// - a `POST` that is not `application/json`: a page may send `text/plain` or a form to any URL
///   without asking, but JSON needs a CORS preflight the listener never grants;
/// - a request whose `Origin` is not the listener's own (`http://` or `https://` and the `Host`
///   it was sent to);
/// - a `Host` that is a name other than `localhost` or one in `admin.allowed_hosts`: DNS
///   rebinding points a page's own name at 127.0.0.1, so its requests carry that name. An address
///   literal cannot be rebound, so any is accepted (Kubernetes probes and Prometheus use the pod's).
///
/// `/healthz` and `/readyz` are exempt from the `Host` check: probes send what they like, and the
/// answers say only up or ready.
struct AdminRequestGuard<Context: RequestContext>: RouterMiddleware {
    /// Lowercased host names accepted besides address literals and `localhost`.
    let allowedHosts: Set<String>

    init(allowedHosts: [String]) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let authority = request.head.authority
        if !AdminRouter.probePaths.contains(request.uri.path), let authority, !isAllowed(authority: authority) {
            throw HTTPProblem(
                .misdirectedRequest,
                "forbidden_host",
                "the admin listener answers only to its address, localhost or a name in admin.allowed_hosts "
                    + "(Host was '\(authority.prefix(100))')"
            )
        }
        if let origin = request.headers[.origin] {
            let own = authority.map { ["http://" + $0.lowercased(), "https://" + $0.lowercased()] } ?? []
            guard own.contains(origin.lowercased()) else {
                throw HTTPProblem(
                    .forbidden,
                    "forbidden_origin",
                    "cross-origin requests to the admin listener are refused (Origin was '\(origin.prefix(100))')"
                )
            }
        }
        if request.method != .get, request.method != .head,
            BodyMediaType(contentType: request.headers[.contentType]) != .json
        {
            throw HTTPProblem(
                .unsupportedMediaType,
                "unsupported_media_type",
                "admin calls that change something take Content-Type: application/json"
            )
        }
        return try await next(request, context)
    }

    private func isAllowed(authority: String) -> Bool {
        guard let host = HostAddress.host(ofAuthority: authority) else { return false }
        let name = host.lowercased()
        return name == "localhost" || allowedHosts.contains(name) || HostAddress.isAddressLiteral(host)
    }
}
