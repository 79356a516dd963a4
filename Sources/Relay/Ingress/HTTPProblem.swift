import HTTPTypes
import Hummingbird
import SenderKit

/// An error answer: a status, a stable machine-readable code and a human message, always sent as
/// `{"error": code, "message": message}`. Messages never contain a secret or a request body.
struct HTTPProblem: Error, Sendable, Hashable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra headers, e.g. `Retry-After` or `Allow`.
    var headers: HTTPFields
    /// What the log says beyond the message, never the answer: a file path, an errno, a Kafka
    /// error are of use to the operator, and to an attacker mapping the host.
    var detail: String?

    init(
        _ status: HTTPResponse.Status,
        _ code: String,
        _ message: String,
        headers: HTTPFields = [:],
        detail: String? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.detail = detail
    }

    /// The answer to send.
    var response: Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = JSONText.object(["error": .string(code), "message": .string(message)])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The answer to a request whose body has not been read: sent at once, then the rest of the
    /// body is read and thrown away (as nginx's lingering close does), so that a client that writes
    /// its whole body before reading (Python's `urllib` and `http.client`, many Java clients) gets to
    /// read it instead of blocking on a write the relay no longer reads. At most
    /// ``discardLimit`` bytes are read, for at most ``discardTime``; past either the connection is
    /// closed. Nothing discarded is kept, so memory does not grow with the body.
    func response(discardingBodyOf request: Request) -> Response {
        let body = request.body
        let json = ByteBuffer(bytes: JSONText.object(["error": .string(code), "message": .string(message)]))
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(contentLength: json.readableBytes) { writer in
                try await writer.write(json)
                try await writer.finish(nil)
                try await Self.discard(body)
            }
        )
    }

    /// The most of a refused body the relay reads and throws away before closing the connection.
    static let discardLimit = 256 << 20
    /// The longest the relay keeps reading a refused body.
    static let discardTime = Duration.seconds(10)

    /// Reads `body` to its end and drops it; throws (which closes the connection) past the limits.
    private static func discard(_ body: RequestBody) async throws {
        let deadline = ContinuousClock.now.advanced(by: discardTime)
        var discarded = 0
        do {
            for try await part in body {
                discarded += part.readableBytes
                if discarded > discardLimit || ContinuousClock.now > deadline { throw DiscardLimitReached() }
            }
        } catch is DiscardLimitReached {
            throw DiscardLimitReached()
        } catch {
            // The client closed or was cut off (http.request_timeout); it has its answer already.
        }
    }

    /// Ends a connection whose refused body is longer, or slower, than the relay will read.
    private struct DiscardLimitReached: Error {}

    /// How long a sender should wait before retrying after a 503.
    static let retryAfterSeconds = "5"

    /// A 503 for a limit the relay protects itself with (`limit` names its setting).
    static func overloaded(_ limit: String) -> HTTPProblem {
        HTTPProblem(
            .serviceUnavailable,
            "overloaded",
            "the relay is at its limit of \(limit) and did not accept the event; retry later",
            headers: [.retryAfter: retryAfterSeconds]
        )
    }

    static func notFound(_ path: String) -> HTTPProblem {
        HTTPProblem(
            .notFound,
            "not_found",
            "no route for \(path.prefix(200)); webhooks are sent to POST /webhooks/{source}"
        )
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method) -> HTTPProblem {
        HTTPProblem(
            .methodNotAllowed,
            "method_not_allowed",
            "\(method.rawValue) is not allowed here; webhooks are delivered with POST",
            headers: [.allow: "POST"]
        )
    }

    static func payloadTooLarge(limit: Int) -> HTTPProblem {
        HTTPProblem(.contentTooLarge, "payload_too_large", "the body is larger than the limit of \(limit) bytes")
    }

    static let incompleteBody = HTTPProblem(
        .badRequest,
        "incomplete_body",
        "the connection ended before the whole body arrived"
    )

    static func rateLimited(source: String, retryAfter seconds: Int) -> HTTPProblem {
        HTTPProblem(
            .tooManyRequests,
            "rate_limited",
            "source '\(source.prefix(100))' sent more requests than its rate limit; retry after \(seconds) s",
            headers: [.retryAfter: String(seconds)]
        )
    }

    static func unsupportedMediaType(
        _ contentType: String?,
        accepted: [BodyMediaType] = [.json],
        hint: String? = nil
    ) -> HTTPProblem {
        let found = contentType.map { "'\($0.prefix(100))'" } ?? "none"
        let names = accepted.map(\.rawValue)
        let expected =
            names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
        return HTTPProblem(
            .unsupportedMediaType,
            "unsupported_media_type",
            "Content-Type must be \(expected) (found \(found))" + (hint.map { "; \($0)" } ?? "")
        )
    }
}

extension WebhookPipeline.Rejection {
    /// The answer for this rejection.
    var problem: HTTPProblem {
        switch self {
        case .unknownSource(let name):
            return HTTPProblem(
                .notFound,
                "unknown_source",
                "no webhook source named '\(name.prefix(100))' is configured"
            )
        case .rejected(let rejection):
            return rejection.problem
        case .invalidJSON(let error):
            return HTTPProblem(.badRequest, "invalid_json", "the body is not the JSON this sender posts: \(error)")
        case .conflict(let id, let topic):
            return HTTPProblem(
                .conflict,
                "request_id_conflict",
                "request id \(id) was already accepted with a different body; this one was kept in \(topic)"
            )
        case .inProgress(let id):
            return HTTPProblem(
                .serviceUnavailable,
                "request_in_progress",
                "request id \(id) is being processed; retry shortly",
                headers: [.retryAfter: "1"]
            )
        case .unavailable(let reason):
            return HTTPProblem(
                .serviceUnavailable,
                "unavailable",
                "the event could not be stored durably and was not accepted; retry later",
                headers: [.retryAfter: HTTPProblem.retryAfterSeconds],
                detail: reason
            )
        case .overloaded(let limit):
            return HTTPProblem.overloaded(limit)
        }
    }
}

extension WebhookRejection {
    /// The answer for this rejection: malformed requests are 400, failed authentication is 401.
    var problem: HTTPProblem {
        switch self {
        case .missingHeader(let name):
            HTTPProblem(.badRequest, "missing_header", "required header \(name) is missing")
        case .invalidHeader(let name, let reason):
            HTTPProblem(.badRequest, "invalid_header", "header \(name) \(reason)")
        case .missingSignature(let header):
            HTTPProblem(.unauthorized, "missing_signature", "signature header \(header) is missing")
        case .badSignature(let header, let reason):
            HTTPProblem(.unauthorized, "invalid_signature", "signature header \(header) \(reason)")
        case .staleTimestamp(let age, let tolerance):
            HTTPProblem(
                .unauthorized,
                "stale_timestamp",
                age >= 0
                    ? "the signed timestamp is \(age) s old; the tolerance is \(tolerance) s"
                    : "the signed timestamp is \(-age) s in the future; the tolerance is \(tolerance) s"
            )
        case .invalidBody(let error):
            HTTPProblem(.badRequest, "invalid_json", "the body is not the JSON this sender posts: \(error)")
        case .malformedBody(let reason):
            HTTPProblem(.badRequest, "invalid_body", "the body \(reason)")
        case .invalidField(let pointer, let reason):
            HTTPProblem(.badRequest, "invalid_field", "body field \(pointer) \(reason)")
        case .untrustedCertificate(let reason):
            HTTPProblem(.unauthorized, "untrusted_certificate", "the signing certificate \(reason)")
        case .certificateUnavailable(let reason, let retryAfter):
            HTTPProblem(
                .serviceUnavailable,
                "certificate_unavailable",
                "the signing certificate could not be fetched (\(reason)); retry later",
                headers: [.retryAfter: String(retryAfter)]
            )
        }
    }
}
