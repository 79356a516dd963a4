import Foundation
import HTTPTypes
import Hummingbird
import Instrumentation
import Logging
import NIOCore
import RelayKafka
import RelayPrimitives
import SenderKit
import Tracing

/// The HTTP face of the pipeline: framing checks (size, media type), then the pipeline, then the
/// answer. Every rejection is logged once, with its reason and request id.
struct WebhookIngress: Sendable {
    private let pipeline: WebhookPipeline
    private let maxBodySize: Int
    private let bodyBudget: BodyBudget
    private let rateLimiter: RateLimiter
    private let metrics: RelayMetrics
    private let logger: Logger
    /// Set when tracing is on; `secure`: the listener speaks HTTPS (the spans' `url.scheme`).
    private let tracer: RelayTracer?
    private let secure: Bool

    init(
        pipeline: WebhookPipeline,
        maxBodySize: Int,
        bodyBudget: BodyBudget,
        rateLimiter: RateLimiter,
        metrics: RelayMetrics,
        logger: Logger,
        tracer: RelayTracer? = nil,
        secure: Bool = false
    ) {
        self.pipeline = pipeline
        self.maxBodySize = maxBodySize
        self.bodyBudget = bodyBudget
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.logger = logger
        self.tracer = tracer
        self.secure = secure
    }

    /// Answers `POST /webhooks/{source}` from `peer`, inside the request's server span when tracing is on.
    func handle(_ request: Request, source: String, peer: SocketAddress? = nil) async -> Response {
        guard let tracer else { return await answer(request, source: source, peer: peer, span: nil) }
        let (span, context) = tracer.startRequest(
            headers: request.headers,
            path: request.uri.path,
            source: source,
            secure: secure,
            peer: peer.flatMap(IngressRequestContext.ipAddress(of:))
        )
        let response = await InstrumentationContext.withValue(context) {
            await answer(request, source: source, peer: peer, span: span)
        }
        span.describe("http.response.status_code", Int64(response.status.code))
        if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
        return response
    }

    private func answer(_ request: Request, source: String, peer: SocketAddress?, span: (any Span)?) async -> Response {
        let started = ContinuousClock.now
        let route = pipeline.route(source)
        // Label values come only from configuration or verified requests (bounded cardinality).
        let sourceLabel = route == nil ? "unknown" : source
        // The body's share of the memory budget: taken whole from Content-Length before the body is
        // read, or chunk by chunk for a body without one; given back once the request is answered.
        var reserved = 0
        defer { bodyBudget.release(reserved) }
        let admitted: WebhookPipeline.Route
        do {
            admitted = try admit(request, to: route, source: source)
            reserved = try reserveBody(of: request)
        } catch {
            span?.describe("error.type", error.code)
            record(error, request: request, route: route, source: source, label: sourceLabel, since: started)
            return error.response(discardingBodyOf: request)
        }
        do {
            let acceptance = try await accept(request, route: admitted, peer: peer, reserved: &reserved)
            let isKept = { (status: WebhookPipeline.Acceptance.Status) in status == .published || status == .buffered }
            metrics.request(
                source: sourceLabel,
                eventType: acceptance.eventLabel,
                outcome: acceptance.status.rawValue,
                duration: ContinuousClock.now - started,
                accepted: isKept(acceptance.status) && acceptance.events == nil
                    ? acceptance.activityEvent(source: source) : nil
            )
            for event in acceptance.events ?? [] {
                metrics.batchEvent(
                    source: sourceLabel,
                    eventType: event.eventLabel,
                    outcome: event.status.rawValue,
                    accepted: isKept(event.status) ? event.activityEvent(source: source) : nil
                )
            }
            span?.describe { attributes in
                attributes[SpanKey.deliveryID] = acceptance.deliveryID
                attributes[SpanKey.eventType] = acceptance.eventLabel
                attributes[SpanKey.status] = acceptance.status.rawValue
            }
            logger.debug(
                "Accepted webhook",
                metadata: [
                    LogKey.source: "\(source)", LogKey.deliveryID: "\(acceptance.deliveryID)",
                    LogKey.eventType: "\(acceptance.eventType)", LogKey.status: "\(acceptance.status.rawValue)",
                ]
            )
            return Self.response(for: acceptance, successReply: admitted.successReply)
        } catch {
            span?.describe("error.type", error.code)
            record(error, request: request, route: admitted, source: source, label: sourceLabel, since: started)
            return error.response
        }
    }

    private func record(
        _ problem: HTTPProblem,
        request: Request,
        route: WebhookPipeline.Route?,
        source: String,
        label: String,
        since: ContinuousClock.Instant
    ) {
        logRejection(problem, request: request, route: route, source: source)
        metrics.request(source: label, eventType: nil, outcome: problem.code, duration: ContinuousClock.now - since)
    }

    /// The checks decided from the head alone, before any of the body is read; the route of a
    /// source that is served.
    private func admit(
        _ request: Request,
        to route: WebhookPipeline.Route?,
        source: String
    ) throws(HTTPProblem) -> WebhookPipeline.Route {
        guard let route else { throw WebhookPipeline.Rejection.unknownSource(source).problem }
        if let wait = rateLimiter.admit(source) { throw .rateLimited(source: source, retryAfter: wait) }
        if let length = request.headers.value(of: .contentLength).flatMap({ Int($0) }), length > maxBodySize {
            throw .payloadTooLarge(limit: maxBodySize)
        }
        let contentType = request.headers.value(of: .contentType)
        guard let mediaType = BodyMediaType(contentType: contentType), route.bodyKinds.accepts(mediaType) else {
            throw .unsupportedMediaType(
                contentType,
                accepted: route.bodyKinds.mediaTypes,
                hint: route.scheme.mediaTypeHint
            )
        }
        return route
    }

    /// Takes the budget for a body of known length; 0 for one without `Content-Length`.
    private func reserveBody(of request: Request) throws(HTTPProblem) -> Int {
        guard let length = request.headers.value(of: .contentLength).flatMap({ Int($0) }) else { return 0 }
        guard bodyBudget.reserve(length) else { throw Self.overBudget }
        return length
    }

    private static let overBudget = HTTPProblem.overloaded("request bodies in flight (http.max_body_bytes_in_flight)")

    private func accept(
        _ request: Request,
        route: WebhookPipeline.Route,
        peer: SocketAddress?,
        reserved: inout Int
    ) async throws(HTTPProblem) -> WebhookPipeline.Acceptance {
        let body: [UInt8]
        // Nothing taken from Content-Length: the body pays as its chunks arrive (a body declared
        // empty has none).
        let chargesChunks = reserved == 0
        var taken = 0
        defer { reserved += taken }
        do {
            body = try await request.bodyBytes(upTo: maxBodySize) { size in
                guard chargesChunks else { return true }
                guard bodyBudget.reserve(size) else { return false }
                taken += size
                return true
            }
        } catch is NIOTooManyBytesError {
            throw .payloadTooLarge(limit: maxBodySize)
        } catch is Request.ChunkRefused {
            throw Self.overBudget
        } catch {
            // The client went away or was cut off (http.request_timeout) before sending it all.
            throw .incompleteBody
        }
        let query = request.uri.query
        let webhook = WebhookRequest(
            headers: request.headers,
            body: body,
            method: request.method.rawValue,
            url: route.publicURL.map { url in query.map { url + "?" + $0 } ?? url },
            path: request.uri.path,
            query: query,
            peer: peer.flatMap(IngressRequestContext.ipAddress(of:))
        )
        do {
            return try await pipeline.process(route, request: webhook)
        } catch {
            throw error.problem
        }
    }

    /// The answer to an accepted request: the sender's handshake reply, the success reply its
    /// sender requires, or the relay's JSON summary (202, or 200 for a duplicate).
    static func response(for acceptance: WebhookPipeline.Acceptance, successReply: WebhookReply? = nil) -> Response {
        if let reply = acceptance.reply ?? successReply {
            return Response(
                status: HTTPResponse.Status(code: reply.status),
                headers: [.contentType: reply.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body))
            )
        }
        var body = ByteBufferAllocator().buffer(
            capacity: 80 + acceptance.deliveryID.utf8.count + (acceptance.topic?.utf8.count ?? 0)
        )
        write(acceptance, to: &body)
        let status: HTTPResponse.Status = acceptance.status == .duplicate ? .ok : .accepted
        return Response(status: status, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: body))
    }

    /// `{"id":…,"status":…,"topic":…,"partition":…,"offset":…}`, written straight into `body`; a
    /// batch's adds `"events":[…]`, one such object per event.
    private static func write(_ acceptance: WebhookPipeline.Acceptance, to body: inout ByteBuffer) {
        body.writeStaticString(#"{"id":"#)
        JSONText.appendString(acceptance.deliveryID, to: &body)
        body.writeStaticString(#","status":"#)
        JSONText.appendString(acceptance.status.rawValue, to: &body)
        if let topic = acceptance.topic {
            body.writeStaticString(#","topic":"#)
            JSONText.appendString(topic, to: &body)
            if let ack = acceptance.ack {
                body.writeStaticString(#","partition":"#)
                body.writeString(String(ack.partition))
                body.writeStaticString(#","offset":"#)
                body.writeString(String(ack.offset))
            }
        }
        if let events = acceptance.events {
            body.writeStaticString(#","events":["#)
            for (index, event) in events.enumerated() {
                if index > 0 { body.writeStaticString(",") }
                write(event, to: &body)
            }
            body.writeStaticString("]")
        }
        body.writeStaticString("}")
    }

    /// The headers of every JSON answer, made once.
    private static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    private func logRejection(
        _ problem: HTTPProblem,
        request: Request,
        route: WebhookPipeline.Route?,
        source: String
    ) {
        var metadata: Logger.Metadata = [
            LogKey.source: "\(source.prefix(100))",
            LogKey.status: "\(problem.status.code)",
            LogKey.error: "\(problem.code)",
            LogKey.reason: "\(problem.message)\(problem.detail.map { " (\($0))" } ?? "")",
        ]
        let named = route?.scheme.loggedHeaders ?? LoggedHeaders()
        if let id = named.deliveryID.lazy.compactMap({ request.headers[$0] }).first {
            metadata[LogKey.deliveryID] = "\(id.prefix(DeliveryID.maximumLength))"
        }
        if let event = named.eventType.lazy.compactMap({ request.headers[$0] }).first {
            metadata[LogKey.eventType] = "\(event.prefix(100))"
        }
        logger.notice("Rejected webhook", metadata: metadata)
    }
}

extension WebhookPipeline.Acceptance {
    /// This delivery as the console's Events page lists it.
    func activityEvent(source: String) -> ActivityLog.Event {
        ActivityLog.Event(
            id: deliveryID,
            source: source,
            eventType: eventType,
            status: status.rawValue,
            topic: topic,
            partition: ack?.partition,
            offset: ack?.offset,
            receivedAt: receivedAt.unixMilliseconds
        )
    }
}
