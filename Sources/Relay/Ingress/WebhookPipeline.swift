import Foundation
import HTTPTypes
import Logging
import NIOPosix
import RelayKafka
import RelayPrimitives
import SenderKit
import Tracing

/// The request path once HTTP framing is dealt with: verify → dedup → envelope → route → deliver.
/// It knows nothing of HTTP statuses; ``WebhookIngress`` maps its results and rejections to answers.
struct WebhookPipeline: Sendable {
    /// An event the relay took responsibility for.
    struct Acceptance: Sendable, Hashable {
        enum Status: String, Sendable {
            /// Kafka acknowledged it.
            case published
            /// It is in the retry buffer (fsynced); the retrier will publish it.
            case buffered
            /// The same delivery was accepted before; nothing was published again.
            case duplicate
            /// The sender asked for an answer, not a published event (``VerifiedWebhook/reply``).
            case answered
        }

        var deliveryID: String
        /// The verified event type.
        var eventType: String
        /// The event type as a metric label: `unrecognized` for a type outside the sender's
        /// catalogue that only an unsigned header names (so no request can invent label values).
        var eventLabel: String
        var status: Status
        var topic: String?
        var ack: KafkaAck?
        /// The answer of an `answered` acceptance, or the one the delivery's sender requires on
        /// success (``VerifiedWebhook/successReply``).
        var reply: WebhookReply? = nil
        /// When the request was received (the pipeline's clock).
        var receivedAt: Date
        /// For a delivery that carried several events: each one's acceptance, in order. The
        /// delivery's own status is `buffered` when any event was buffered, `duplicate` when all
        /// were duplicates, `published` otherwise.
        var events: [Acceptance]? = nil
    }

    /// Why the pipeline did not accept a request.
    enum Rejection: Error, Sendable, Hashable {
        case unknownSource(String)
        case rejected(WebhookRejection)
        case invalidJSON(JSONScanError)
        /// The delivery id was accepted before with a different body; this body was kept in the
        /// source's dead-letter topic (`keptIn`), not dropped.
        case conflict(deliveryID: String, keptIn: String)
        /// The same delivery is being processed right now.
        case inProgress(deliveryID: String)
        /// The event could not be made durable; nothing was acknowledged. The reason is logged,
        /// never sent.
        case unavailable(reason: String)
        /// A limit the relay protects itself with is reached (named by its setting); the sender
        /// should retry later.
        case overloaded(limit: String)
    }

    /// Everything one source needs on the request path, built once at start. A class, so a request
    /// takes one reference to it rather than copying (and retaining) each of its parts.
    final class Route: Sendable {
        /// Where an event goes, and the label it is counted under.
        typealias Destination = (descriptor: EventDescriptor, topic: String, label: String)

        /// The label of event types outside the catalogue that only an unsigned header names.
        static let unrecognizedLabel = "unrecognized"

        let name: String
        let scheme: any WebhookScheme
        let router: TopicRouter
        /// Where verified deliveries that cannot be published as they are go (e.g. `github.deadletter`).
        let deadLetterTopic: String
        let envelope: CloudEventEnvelope
        let dedup: DedupGuard
        /// The source's Kafka key field, when it overrides the sender's.
        let key: JSONPointer?
        /// The body fields to capture: the scheme's, then the source's key field.
        let bodyFields: [JSONPointer]
        /// Whether the body, not the unsigned delivery id, decides what is a new delivery.
        let dedupsOnBody: Bool
        /// Where events go whose type is outside the catalogue and unsigned (`nil` when the sender
        /// signs its event types): `{source}.unrecognized`.
        let overflowTopic: String?
        /// The bodies the sender posts, and the JSON document among them (`nil`: no JSON).
        let bodyKinds: BodyKinds
        let jsonShape: JSONShape?
        /// The array inside the body that holds a batch's events, if the scheme names one.
        let batchArray: JSONPointer?
        /// The answer the sender requires on success, if it requires one.
        let successReply: WebhookReply?
        /// The URL the sender calls (`public_url`), for schemes that sign it.
        let publicURL: String?
        /// The destination of every known event type, built once.
        private let known: [String: Destination]

        /// - Parameter dedup: the same source's memory of deliveries, kept across a reload.
        init(
            source: RelayConfiguration.Source,
            router: TopicRouter,
            store: (any SeenDeliveryStore)?,
            capacity: DedupCapacity,
            dedup: DedupGuard? = nil
        ) {
            name = source.name
            scheme = source.scheme
            self.router = router
            deadLetterTopic = source.deadLetterTopic
            envelope = CloudEventEnvelope(cloudEventSource: source.cloudEventSource, mode: source.contentMode)
            self.dedup = dedup ?? DedupGuard(window: source.dedupWindow, store: store, capacity: capacity)
            key = source.key
            bodyFields = Route.bodyFields(of: source)
            let signed = source.scheme.signedParts
            dedupsOnBody = !signed.contains(.deliveryID)
            overflowTopic = signed.contains(.eventType) ? nil : "\(source.name).\(Self.unrecognizedLabel)"
            bodyKinds = source.scheme.bodyKinds
            jsonShape = bodyKinds.jsonShape
            batchArray = source.scheme.batchArray
            successReply = source.scheme.successReply
            publicURL = source.publicURL
            var known: [String: Destination] = [:]
            for eventType in source.scheme.knownEventTypes {
                let descriptor = source.scheme.describe(eventType: eventType)
                known[eventType] = (descriptor, router.topic(source: source.name, descriptor: descriptor), eventType)
            }
            self.known = known
        }

        /// The topics of every known event type, and the overflow topic.
        var knownTopics: [String] { known.values.map(\.topic) + (overflowTopic.map { [$0] } ?? []) }

        /// How `eventType` maps onto CloudEvents, its topic and its metric label. A type outside the
        /// catalogue that is not signed goes to the overflow topic, counted as `unrecognized`,
        /// unless the source's `topics:` names it.
        func describe(_ eventType: String) -> Destination {
            if let known = known[eventType] { return known }
            let descriptor = scheme.describe(eventType: eventType)
            if let overflowTopic, !descriptor.isKnown, !router.overrides(eventType) {
                return (descriptor, overflowTopic, Self.unrecognizedLabel)
            }
            return (descriptor, router.topic(source: name, descriptor: descriptor), eventType)
        }

        /// The scheme's fields and the source's key field (a sender's key field, which depends on
        /// the event type, joins them before the body is scanned when the scheme reads no field
        /// itself).
        private static func bodyFields(of source: RelayConfiguration.Source) -> [JSONPointer] {
            var fields = source.scheme.bodyFields
            if let key = source.key, !fields.contains(key) { fields.append(key) }
            return fields
        }
    }

    /// The sources served, replaced whole by a reload; a request resolves its route once and
    /// keeps it, so a reload never changes a request under way.
    private let routes: Locked<[String: Route]>
    private let delivery: EventDelivery
    private let clock: any WallClock
    private let metrics: RelayMetrics
    private let store: (any SeenDeliveryStore)?
    private let capacity: DedupCapacity
    /// Set when tracing is on: the `verify`, `dedup` and `send` spans.
    private let tracer: RelayTracer?

    init(
        configuration: RelayConfiguration,
        delivery: EventDelivery,
        clock: any WallClock,
        metrics: RelayMetrics,
        store: (any SeenDeliveryStore)? = nil,
        tracer: RelayTracer? = nil
    ) throws(ConfigurationError) {
        let capacity = DedupCapacity(maximumEntries: configuration.dedup.maximumEntries)
        let routes = try Self.routes(for: configuration.sources, store: store, capacity: capacity, keeping: [:])
        // What the store remembered before this start: retries of those deliveries stay duplicates.
        for remembered in store?.rememberedDeliveries ?? [] {
            routes[remembered.key.source]?.dedup.restore(
                remembered.key,
                digest: remembered.digest,
                expiresAt: remembered.expiresAt
            )
        }
        self.routes = Locked(routes)
        self.delivery = delivery
        self.clock = clock
        self.metrics = metrics
        self.store = store
        self.capacity = capacity
        self.tracer = tracer
    }

    /// A route per source; a source in `kept` keeps its memory of deliveries.
    private static func routes(
        for sources: [RelayConfiguration.Source],
        store: (any SeenDeliveryStore)?,
        capacity: DedupCapacity,
        keeping kept: [String: Route]
    ) throws(ConfigurationError) -> [String: Route] {
        var routes: [String: Route] = [:]
        for source in sources {
            let router: TopicRouter
            do {
                router = try TopicRouter(template: source.topicTemplate, overrides: source.topicOverrides)
            } catch {
                throw ConfigurationError(.sourceTopicTemplate.forSource(source.name), error.description)
            }
            routes[source.name] = Route(
                source: source,
                router: router,
                store: store,
                capacity: capacity,
                dedup: kept[source.name]?.dedup
            )
        }
        return routes
    }

    /// Serves `sources` from now on (a reload): a source that stays keeps its memory of deliveries,
    /// so a retry sent across the reload is still a duplicate. Requests already under way finish
    /// with the route they resolved.
    func replaceSources(_ sources: [RelayConfiguration.Source]) throws(ConfigurationError) {
        let current = routes.withLock { $0 }
        let replaced = try Self.routes(for: sources, store: store, capacity: capacity, keeping: current)
        routes.withLock { $0 = replaced }
    }

    /// The topics of every known event type of every source, sorted.
    var knownTopics: [String] {
        Set(routes.withLock { $0 }.values.flatMap(\.knownTopics)).sorted()
    }

    /// The route of `/webhooks/{name}`, if it is served: a request resolves it once and hands it on.
    func route(_ name: String) -> Route? { routes.withLock { $0[name] } }

    /// What the request path knows of a request once its signature and body are checked.
    struct Checked: Sendable {
        var webhook: VerifiedWebhook
        /// What the delivery publishes: itself, or each event of a batch. Empty for a handshake.
        var events: [Event]

        /// One event to publish.
        struct Event: Sendable {
            /// The verified delivery, named as this event (a batch event's own id and type).
            var webhook: VerifiedWebhook
            var descriptor: EventDescriptor
            var topic: String
            /// The event type as a metric label (see ``Acceptance/eventLabel``).
            var label: String
            /// The value of the Kafka key field, if the body has one.
            var subject: String?
            /// The record's value: the request body, or a batch event's JSON.
            var body: [UInt8]
            var mediaType: BodyMediaType
            /// What identifies the event for dedup: its id, or its body where the id is not signed.
            var key: DedupGuard.Key
            var digest: BodyDigest
        }
    }

    /// Bodies at least this large are checked (signature, JSON, digests) on a thread pool rather
    /// than on the connection's event loop: an unsigned 5 MiB request costs milliseconds of hashing,
    /// and requests on other connections of that loop must not wait for it.
    static let offloadedBodySize = 256 << 10

    /// Checks a request where its size says (see ``offloadedBodySize``).
    private func check(
        _ route: Route,
        request: WebhookRequest,
        receivedAt: Date
    ) async throws(Rejection) -> Checked {
        let metrics = self.metrics
        guard request.body.count >= Self.offloadedBodySize else {
            return try Self.check(route, request: request, receivedAt: receivedAt, metrics: metrics)
        }
        let check: @Sendable () -> Result<Checked, Rejection> = {
            Result { () throws(Rejection) in
                try Self.check(route, request: request, receivedAt: receivedAt, metrics: metrics)
            }
        }
        // `nil` when the pool is shutting down: then it is checked here.
        let result = try? await NIOThreadPool.singleton.runIfActive(check)
        return try (result ?? check()).get()
    }

    /// Verifies the signature, then reads what the body must give (its JSON or form fields, the
    /// key field) and digests each event for dedup.
    private static func check(
        _ route: Route,
        request: WebhookRequest,
        receivedAt: Date,
        metrics: RelayMetrics
    ) throws(Rejection) -> Checked {
        // The ingress admitted only media types the scheme takes.
        let mediaType = request.mediaType ?? .json
        let fields = BodyFields(
            body: mediaType == .json ? request.body : [],
            capturing: mediaType == .json ? route.bodyFields : [],
            shape: route.jsonShape ?? .object,
            elementsAt: route.batchArray
        )
        let webhook: VerifiedWebhook
        let verifyStarted = ContinuousClock.now
        do {
            webhook = try route.scheme.verify(request, now: receivedAt, fields: fields)
        } catch {
            throw .rejected(error)
        }
        metrics.verification(duration: ContinuousClock.now - verifyStarted)
        if webhook.reply != nil { return Checked(webhook: webhook, events: []) }
        do throws(WebhookRejection) {
            if let batch = webhook.events {
                guard batch.count <= BatchEvent.maximumCount else {
                    throw .malformedBody(reason: "carries more than \(BatchEvent.maximumCount) events")
                }
                let events = try batch.map { (item) throws(WebhookRejection) in
                    var named = webhook
                    (named.eventType, named.deliveryID, named.events, named.subject) = (
                        item.eventType, item.deliveryID, nil, nil
                    )
                    return try event(named, body: item.body, mediaType: .json, fields: nil, route: route)
                }
                return Checked(webhook: webhook, events: events)
            }
            switch mediaType {
            case .json: break
            case .form:
                guard request.form != nil else {
                    throw .malformedBody(reason: "is not valid application/x-www-form-urlencoded UTF-8")
                }
            case .text:
                guard String(validating: request.body, as: UTF8.self) != nil else {
                    throw .malformedBody(reason: "is not UTF-8 text")
                }
            }
            let single = try event(
                webhook,
                body: request.body,
                mediaType: mediaType,
                fields: mediaType == .json ? fields : nil,
                route: route
            )
            return Checked(webhook: webhook, events: [single])
        } catch {
            guard case .invalidBody(let scanError) = error else { throw .rejected(error) }
            throw .invalidJSON(scanError)
        }
    }

    /// One event of a verified delivery: its destination, key and dedup identity. `fields` are the
    /// delivery's JSON fields when the event is the whole body; a batch event's JSON is scanned for
    /// its key field here.
    private static func event(
        _ webhook: VerifiedWebhook,
        body: [UInt8],
        mediaType: BodyMediaType,
        fields: BodyFields?,
        route: Route
    ) throws(WebhookRejection) -> Checked.Event {
        let (descriptor, topic, label) = route.describe(webhook.eventType)
        var subject: String?
        if mediaType == .json {
            let fields = fields ?? BodyFields(body: body, capturing: [])
            if let key = route.key ?? descriptor.keyField {
                subject = try fields.value(at: key)
            } else {
                _ = try fields.values()
            }
        }
        // An unsigned delivery id is the sender's word only: anyone holding a body from a topic
        // could re-send it under new ids. Then the body itself is the delivery, unless the scheme
        // names a signed single-use value for it (a body may change around that value).
        let key =
            if let dedupKey = webhook.dedupKey {
                DedupGuard.Key(source: route.name, deliveryID: "signed:" + dedupKey)
            } else if route.dedupsOnBody {
                DedupGuard.Key.body(source: route.name, body)
            } else {
                DedupGuard.Key(source: route.name, deliveryID: webhook.deliveryID)
            }
        return Checked.Event(
            webhook: webhook,
            descriptor: descriptor,
            topic: topic,
            label: label,
            subject: subject ?? webhook.subject,
            body: body,
            mediaType: mediaType,
            key: key,
            digest: BodyDigest(of: body)
        )
    }

    /// Verifies, deduplicates, wraps and delivers one webhook; returns only once every event it
    /// carries is durable.
    func process(_ route: Route, request: WebhookRequest) async throws(Rejection) -> Acceptance {
        let receivedAt = clock.now()
        let span = tracer?.startStep("verify")
        let checked: Checked
        do {
            checked = try await verify(route, request: request, receivedAt: receivedAt)
            span?.end()
        } catch {
            span?.fail(error.problem.code)
            span?.end()
            throw error
        }
        let webhook = checked.webhook
        if let reply = webhook.reply {
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                eventLabel: webhook.eventType,
                status: .answered,
                topic: nil,
                ack: nil,
                reply: reply,
                receivedAt: receivedAt
            )
        }
        var acceptance =
            if webhook.events == nil, let single = checked.events.first {
                try await publish(single, route: route, receivedAt: receivedAt)
            } else {
                try await publishBatch(checked, route: route, receivedAt: receivedAt)
            }
        acceptance.reply = webhook.successReply
        return acceptance
    }

    /// Fetches the signing key a request names, if its scheme uses one, and checks the request.
    private func verify(_ route: Route, request: WebhookRequest, receivedAt: Date) async throws(Rejection) -> Checked {
        var request = request
        if route.scheme.fetchesKeys {
            do {
                request.fetchedKey = try await route.scheme.fetchKey(for: request, now: receivedAt)
            } catch {
                throw .rejected(error)
            }
        }
        return try await check(route, request: request, receivedAt: receivedAt)
    }

    /// Publishes one event once it is new: reserve its dedup entry, make its record, deliver it.
    private func publish(
        _ checked: Checked.Event,
        route: Route,
        receivedAt: Date
    ) async throws(Rejection) -> Acceptance {
        let reservation = reserve(checked, route: route)
        return try await publish(checked, reservation: reservation, route: route, receivedAt: receivedAt)
    }

    /// The event's dedup reservation, counting an event type outside the catalogue.
    private func reserve(_ checked: Checked.Event, route: Route) -> DedupGuard.Reservation {
        if !checked.descriptor.isKnown { metrics.unknownEventType(source: route.name, eventType: checked.label) }
        let span = tracer?.startStep("dedup")
        let now = clock.unixSeconds
        let reservation = route.dedup.reserve(
            checked.key,
            digest: checked.digest,
            signedAt: checked.webhook.signedAt ?? now,
            now: now
        )
        if let span {
            span.describe(SpanKey.dedup, reservation.label)
            span.end()
        }
        return reservation
    }

    /// Publishes one event whose dedup entry is reserved (`reservation`).
    private func publish(
        _ checked: Checked.Event,
        reservation: DedupGuard.Reservation,
        route: Route,
        receivedAt: Date
    ) async throws(Rejection) -> Acceptance {
        let (webhook, topic, label, key, digest) = (
            checked.webhook, checked.topic, checked.label, checked.key, checked.digest
        )
        var acceptance = Acceptance(
            deliveryID: webhook.deliveryID,
            eventType: webhook.eventType,
            eventLabel: label,
            status: .duplicate,
            topic: nil,
            ack: nil,
            receivedAt: receivedAt
        )
        switch reservation {
        case .fresh: break
        case .duplicate: return acceptance
        case .conflict: break  // kept below, once its record is made
        case .inProgress: throw .inProgress(deliveryID: webhook.deliveryID)
        case .full: throw .overloaded(limit: "remembered deliveries (dedup.max_entries)")
        }

        var event = RelayEvent(
            source: route.name,
            webhook: webhook,
            descriptor: checked.descriptor,
            subject: checked.subject,
            body: checked.body,
            receivedAt: receivedAt,
            mediaType: checked.mediaType
        )
        // The send span ends once the event is durable: Kafka's acknowledgement or the buffer's fsync.
        let span = tracer?.startSend(
            topic: reservation == .conflict ? route.deadLetterTopic : topic,
            deliveryID: webhook.deliveryID
        )
        defer { span?.end() }
        if let tracer, let span {
            event.traceHeaders = tracer.traceHeaders(of: span)
            span.describe("messaging.kafka.message.key", event.partitionKey)
        }
        let record = route.envelope.record(for: event, topic: topic)
        if reservation == .conflict {
            span?.describe(SpanKey.outcome, "conflict")
            try await keepConflicting(record, of: event, route: route, digest: digest, now: clock.unixSeconds)
            throw .conflict(deliveryID: webhook.deliveryID, keptIn: route.deadLetterTopic)
        }
        // In binary mode the value is the body, whose checksum the digest already is.
        let valueChecksum = record.value == checked.body ? digest.checksum : nil
        switch await delivery.deliver(record, of: event, valueChecksum: valueChecksum) {
        case .published(let ack):
            route.dedup.confirm(key, digest: digest)
            (acceptance.status, acceptance.topic, acceptance.ack) = (.published, topic, ack)
            span?.record(ack)
            span?.describe(SpanKey.outcome, "published")
            return acceptance
        case .buffered:
            route.dedup.confirm(key, digest: digest)
            (acceptance.status, acceptance.topic) = (.buffered, topic)
            span?.describe(SpanKey.outcome, "buffered")
            return acceptance
        case .unavailable(let reason):
            route.dedup.release(key)
            span?.fail("unavailable")
            throw .unavailable(reason: reason)
        }
    }

    /// Publishes the events of a batch. Every event is reserved first, so that a batch overlapping
    /// one in progress (the sender's retry) publishes nothing and is retried whole; then the new
    /// ones are delivered together. The delivery is acknowledged only once every event is durable;
    /// an event that could not be made durable fails it (503), and the sender's retry publishes
    /// only what did not land, the rest being duplicates by then.
    private func publishBatch(_ checked: Checked, route: Route, receivedAt: Date) async throws(Rejection) -> Acceptance
    {
        var reservations: [DedupGuard.Reservation] = []
        reservations.reserveCapacity(checked.events.count)
        for event in checked.events {
            let reservation = reserve(event, route: route)
            switch reservation {
            case .inProgress, .full:
                for (earlier, taken) in zip(checked.events, reservations) where taken == .fresh {
                    route.dedup.release(earlier.key)
                }
                if reservation == .full { throw .overloaded(limit: "remembered deliveries (dedup.max_entries)") }
                throw .inProgress(deliveryID: event.webhook.deliveryID)
            case .fresh, .duplicate, .conflict:
                reservations.append(reservation)
            }
        }
        let outcomes = await withTaskGroup(of: (Int, Result<Acceptance, Rejection>).self) { group in
            for (index, (event, reservation)) in zip(checked.events, reservations).enumerated() {
                group.addTask { () async -> (Int, Result<Acceptance, Rejection>) in
                    do throws(Rejection) {
                        let acceptance = try await publish(
                            event,
                            reservation: reservation,
                            route: route,
                            receivedAt: receivedAt
                        )
                        return (index, .success(acceptance))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes = [Result<Acceptance, Rejection>?](repeating: nil, count: checked.events.count)
            for await (index, result) in group { outcomes[index] = result }
            return outcomes.compactMap { $0 }
        }
        var events: [Acceptance] = []
        var failure: Rejection?
        for outcome in outcomes {
            switch outcome {
            case .success(let acceptance): events.append(acceptance)
            case .failure(let rejection):
                // Unavailable first: the sender must retry; a conflict alone is answered as one.
                if case .unavailable = rejection { failure = rejection } else if failure == nil { failure = rejection }
            }
        }
        if let failure { throw failure }
        let status: Acceptance.Status =
            events.contains { $0.status == .buffered }
            ? .buffered : events.allSatisfy { $0.status == .duplicate } ? .duplicate : .published
        return Acceptance(
            deliveryID: checked.webhook.deliveryID,
            eventType: checked.webhook.eventType,
            eventLabel: Self.batchLabel,
            status: status,
            topic: nil,
            ack: nil,
            receivedAt: receivedAt,
            events: events
        )
    }

    /// The metric label of a delivery that carried several events (each is counted as it is
    /// published, under its own type).
    static let batchLabel = "batch"

    /// Keeps a verified delivery whose id was accepted before with another body: it is not dropped
    /// (a spliced delivery may have taken its id first, as with Docutray's independent body and auth
    /// signatures) but published to the source's dead-letter topic with the reason `conflict`,
    /// once per body, and counted.
    private func keepConflicting(
        _ record: KafkaRecord,
        of event: RelayEvent,
        route: Route,
        digest: BodyDigest,
        now: Int64
    ) async throws(Rejection) {
        var keyed = DedupGuard.Key.body(source: route.name, event.body)
        keyed.deliveryID = "conflict:" + keyed.deliveryID
        guard route.dedup.reserve(keyed, digest: digest, signedAt: event.webhook.signedAt ?? now, now: now) == .fresh
        else { return }
        var letter = record
        letter.topic = route.deadLetterTopic
        letter.headers += [
            KafkaHeader(Retrier.DeadLetterHeader.reason, "conflict"),
            KafkaHeader(Retrier.DeadLetterHeader.originalTopic, record.topic),
        ]
        switch await delivery.deliver(letter, of: event) {
        case .published, .buffered:
            route.dedup.confirm(keyed, digest: digest)
            metrics.deadLetter(outcome: "conflict")
        case .unavailable(let reason):
            route.dedup.release(keyed)
            throw .unavailable(reason: reason)
        }
    }
}

extension DedupGuard.Reservation {
    /// The reservation as a span attribute.
    var label: String {
        switch self {
        case .fresh: "fresh"
        case .duplicate: "duplicate"
        case .conflict: "conflict"
        case .inProgress: "in_progress"
        case .full: "full"
        }
    }
}
