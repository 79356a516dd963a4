import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RelayKafka
import RelayPrimitives
import RetryBuffer
import SenderKit

/// The admin listener's routes: buffer status, listings, single records, checks and replays, all
/// behind `Authorization: Bearer <RELAY_ADMIN_TOKEN>` when a token is configured.
enum AdminRouter {
    /// The largest replay request body accepted.
    static let maximumRequestSize = 64 << 10
    /// The largest page of records.
    static let maximumPageSize = 10_000
    /// The orchestrators' probes: open without a token and to any `Host`; they say only up or ready.
    static let probePaths: Set<String> = ["/healthz", "/readyz"]

    /// Health, readiness and metrics, served beside the admin calls.
    struct Monitoring: Sendable {
        var readiness: Readiness
        var activity: ActivityLog
        /// When the relay started, milliseconds since 1970.
        var startedAt: Int64
        /// The Prometheus text exposition, sampled when called.
        var metrics: @Sendable () -> [UInt8]
    }

    static func build(
        operations: BufferOperations,
        monitoring: Monitoring,
        token: String?,
        allowedHosts: [String],
        clock: any WallClock,
        logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(ProblemMiddleware(logger: logger))
        router.middlewares.add(AdminRequestGuard(allowedHosts: allowedHosts))
        router.middlewares.add(BearerTokenMiddleware(token: token))
        router.get("/healthz") { _, _ in json(.ok, ["status": .string("ok")]) }
        router.get("/readyz") { _, _ in monitoring.readiness.response }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: monitoring.metrics()))
            )
        }
        AdminConsole.addRoutes(to: router)
        router.get("/admin/overview") { _, _ in
            let report = monitoring.readiness.evaluate()
            let overview = AdminAPI.Overview(
                version: RelayVersion.current,
                librdkafkaVersion: Librdkafka.version,
                uptimeSeconds: (clock.unixMilliseconds - monitoring.startedAt) / 1000,
                kafka: report.kafka,
                ready: report.ready,
                buffer: operations.status(),
                activity: monitoring.activity.series()
            )
            return json(.ok, AdminAPI.encode(overview))
        }
        router.get("/admin/events") { request, _ in
            let query = request.uri.queryParameters
            let limit = min(query.get("limit").flatMap { Int($0) } ?? 100, ActivityLog.eventCapacity)
            let events = monitoring.activity.events(
                source: query.get("source").flatMap { $0.isEmpty ? nil : $0 },
                eventType: query.get("event_type").flatMap { $0.isEmpty ? nil : $0 },
                status: query.get("status").flatMap { $0.isEmpty ? nil : $0 },
                limit: limit
            )
            return json(.ok, AdminAPI.encode(AdminAPI.Events(events: events)))
        }
        router.get("/admin/buffer") { _, _ in json(.ok, AdminAPI.encode(operations.status())) }
        router.get("/admin/buffer/records") { request, _ in
            let query = request.uri.queryParameters
            let filter = try filter(from: query, now: clock.now())
            let limit = min(query.get("limit").flatMap { Int($0) } ?? 100, maximumPageSize)
            let after = query.get("after").flatMap { UInt64($0) }
            let page = try mapping { () throws(BufferError) in
                try operations.records(
                    filter: filter,
                    after: after,
                    limit: max(1, limit),
                    includeBody: query.get("body") == "true"
                )
            }
            return json(.ok, AdminAPI.encode(page))
        }
        router.get("/admin/buffer/records/:id") { _, context in
            guard let id = context.parameters.get("id").flatMap({ UInt64($0) }) else {
                throw HTTPProblem(.badRequest, "invalid_parameter", "the record id must be a number")
            }
            let record = try mapping { () throws(BufferError) in try operations.record(id: id) }
            return json(.ok, AdminAPI.encode(record))
        }
        router.get("/admin/buffer/check") { _, _ in
            json(.ok, AdminAPI.encode(try mapping { () throws(BufferError) in try operations.check() }))
        }
        router.post("/admin/replay") { request, _ in
            let body = try await request.body.collect(upTo: maximumRequestSize)
            let replay: AdminAPI.ReplayRequest
            do {
                replay = try JSONDecoder().decode(AdminAPI.ReplayRequest.self, from: Data(body.readableBytesView))
            } catch {
                throw HTTPProblem(.badRequest, "invalid_json", "expected a replay request: \(error)")
            }
            if let topic = replay.topic, let problem = TopicRouter.problem(withTopicName: topic) {
                throw HTTPProblem(.badRequest, "invalid_parameter", "topic '\(topic.prefix(100))' \(problem)")
            }
            do {
                return json(.ok, AdminAPI.encode(try await operations.replay(replay)))
            } catch let error as BufferError {
                throw problem(error)
            }
        }
        return router
    }

    /// Reads a record filter from query parameters; a malformed value names the parameter.
    static func filter(from query: Parameters, now: Date) throws(HTTPProblem) -> RecordFilter {
        var filter = RecordFilter()
        if let state = query.get("state") {
            guard let parsed = RecordFilter.State(rawValue: state) else {
                throw HTTPProblem(.badRequest, "invalid_parameter", "state must be pending, dead or archived")
            }
            filter.state = parsed
        }
        filter.source = query.get("source")
        filter.eventType = query.get("event_type")
        filter.deliveryID = query.get("request_id")
        for (name, keyPath) in [("since", \RecordFilter.since), ("until", \RecordFilter.until)] {
            guard let text = query.get(name) else { continue }
            guard let time = RecordFilter.parseTime(text, now: now) else {
                throw HTTPProblem(
                    .badRequest,
                    "invalid_parameter",
                    "\(name) must be an RFC 3339 time or a duration such as 24h"
                )
            }
            filter[keyPath: keyPath] = time
        }
        return filter
    }

    private static func mapping<T>(_ body: () throws(BufferError) -> T) throws(HTTPProblem) -> T {
        do {
            return try body()
        } catch {
            throw problem(error)
        }
    }

    private static func problem(_ error: BufferError) -> HTTPProblem {
        switch error {
        case .notFound(let id): HTTPProblem(.notFound, "not_found", "no buffered record \(id)")
        default: HTTPProblem(.internalServerError, "buffer_error", error.description)
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    private static func json(_ status: HTTPResponse.Status, _ members: KeyValuePairs<String, JSONScalar>) -> Response {
        json(status, JSONText.object(members))
    }
}

/// Refuses admin calls (and `/metrics`) without the configured bearer token, compared in constant
/// time. `/healthz` and `/readyz` stay open for orchestrators' probes, and the console's static
/// files for browsers (they hold no data).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The console's page, script and style hold no data; every call they make needs the token.
        guard let token, !AdminRouter.probePaths.contains(request.uri.path),
            !AdminConsole.paths.contains(request.uri.path)
        else {
            return try await next(request, context)
        }
        let presented = request.headers[.authorization].flatMap { value -> Substring? in
            value.hasPrefix("Bearer ") ? value.dropFirst("Bearer ".count) : nil
        }
        guard let presented, ConstantTime.equals(Array(presented.utf8), Array(token.utf8)) else {
            throw HTTPProblem(
                .unauthorized,
                "unauthorized",
                "admin calls need the header Authorization: Bearer <RELAY_ADMIN_TOKEN>",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        return try await next(request, context)
    }
}
