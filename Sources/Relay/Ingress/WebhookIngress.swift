import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayKafka
import RelayPrimitives
import SenderKit

/// The HTTP face of the pipeline: framing checks (size, media type), then the pipeline, then the
/// answer. Every rejection is logged once, with its reason and request id.
struct WebhookIngress: Sendable {
    private let pipeline: WebhookPipeline
    private let maxBodySize: Int
    private let bodyBudget: BodyBudget
    private let rateLimiter: RateLimiter
    private let metrics: RelayMetrics
    private let logger: Logger

    init(
        pipeline: WebhookPipeline,
        maxBodySize: Int,
        bodyBudget: BodyBudget,
        rateLimiter: RateLimiter,
        metrics: RelayMetrics,
        logger: Logger
    ) {
        self.pipeline = pipeline
        self.maxBodySize = maxBodySize
        self.bodyBudget = bodyBudget
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.logger = logger
    }

    /// Answers `POST /webhooks/{source}`.
    func handle(_ request: Request, source: String) async -> Response {
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
            record(error, request: request, route: route, source: source, label: sourceLabel, since: started)
            return error.response(discardingBodyOf: request)
        }
        do {
            let acceptance = try await accept(request, route: admitted, reserved: &reserved)
            let isKept = acceptance.status == .published || acceptance.status == .buffered
            metrics.request(
                source: sourceLabel,
                eventType: acceptance.eventLabel,
                outcome: acceptance.status.rawValue,
                duration: ContinuousClock.now - started,
                accepted: isKept ? acceptance.activityEvent(source: source) : nil
            )
            logger.debug(
                "Accepted webhook",
                metadata: [
                    LogKey.source: "\(source)", LogKey.deliveryID: "\(acceptance.deliveryID)",
                    LogKey.eventType: "\(acceptance.eventType)", LogKey.status: "\(acceptance.status.rawValue)",
                ]
            )
            return Self.response(for: acceptance)
        } catch {
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
        guard Self.isJSON(contentType) else {
            throw .unsupportedMediaType(contentType, hint: route.scheme.mediaTypeHint)
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
        do {
            return try await pipeline.process(route, headers: request.headers, body: body)
        } catch {
            throw error.problem
        }
    }

    /// `application/json`, with or without parameters such as `charset=utf-8`.
    /// Compared byte by byte (Foundation's trimming and lowercasing cost about 2% of a request).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let utf8 = contentType.utf8
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var end = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
        var start = utf8.startIndex
        while start < end, isBlank(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isBlank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        let lowercased = utf8[start..<end].lazy.map { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }
        return lowercased.elementsEqual("application/json".utf8)
    }

    static func response(for acceptance: WebhookPipeline.Acceptance) -> Response {
        if let reply = acceptance.reply {
            return Response(
                status: .ok,
                headers: Self.jsonHeaders,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply))
            )
        }
        // `{"id":…,"status":…,"topic":…,"partition":…,"offset":…}`, written straight into its buffer.
        var body = ByteBufferAllocator().buffer(
            capacity: 80 + acceptance.deliveryID.utf8.count + (acceptance.topic?.utf8.count ?? 0)
        )
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
        body.writeStaticString("}")
        let status: HTTPResponse.Status = acceptance.status == .duplicate ? .ok : .accepted
        return Response(status: status, headers: Self.jsonHeaders, body: ResponseBody(byteBuffer: body))
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
