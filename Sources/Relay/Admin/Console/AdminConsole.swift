import HTTPTypes
import Hummingbird

/// The admin console: one page, its script and its style, all in the binary (no network, no build
/// step). They hold no data, so they are served without the token; everything they show comes from
/// the admin API, called with the token the operator signs in with.
enum AdminConsole {
    static let paths: Set<String> = ["/", "/console.js", "/console.css"]

    /// Scripts and styles only from this origin, no inline ones, no frames, no plugins.
    static let contentSecurityPolicy =
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

    static func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in response(page, contentType: "text/html; charset=utf-8") }
        router.get("/console.js") { _, _ in response(script, contentType: "text/javascript; charset=utf-8") }
        router.get("/console.css") { _, _ in response(style, contentType: "text/css; charset=utf-8") }
    }

    private static func response(_ text: String, contentType: String) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
