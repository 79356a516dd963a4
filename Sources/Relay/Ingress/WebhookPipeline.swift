import Foundation
import HTTPTypes
import Logging
import NIOPosix
import RelayKafka
import RelayPrimitives
import SenderKit

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
        /// The body of an `answered` acceptance.
        var reply: [UInt8]? = nil
        /// When the request was received (the pipeline's clock).
        var receivedAt: Date
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
        /// The destination of every known event type, built once.
        private let known: [String: Destination]

        init(
            source: RelayConfiguration.Source,
            router: TopicRouter,
            store: (any SeenDeliveryStore)?,
            capacity: DedupCapacity
        ) {
            name = source.name
            scheme = source.scheme
            self.router = router
            deadLetterTopic = source.deadLetterTopic
            envelope = CloudEventEnvelope(cloudEventSource: source.cloudEventSource, mode: source.contentMode)
            dedup = DedupGuard(window: source.dedupWindow, store: store, capacity: capacity)
            key = source.key
            bodyFields = Route.bodyFields(of: source)
            let signed = source.scheme.signedParts
            dedupsOnBody = !signed.contains(.deliveryID)
            overflowTopic = signed.contains(.eventType) ? nil : "\(source.name).\(Self.unrecognizedLabel)"
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

    private let routes: [String: Route]
    private let delivery: EventDelivery
    private let clock: any WallClock
    private let metrics: RelayMetrics

    init(
        configuration: RelayConfiguration,
        delivery: EventDelivery,
        clock: any WallClock,
        metrics: RelayMetrics,
        store: (any SeenDeliveryStore)? = nil
    ) throws(ConfigurationError) {
        var routes: [String: Route] = [:]
        let capacity = DedupCapacity(maximumEntries: configuration.dedup.maximumEntries)
        for source in configuration.sources {
            let router: TopicRouter
            do {
                router = try TopicRouter(template: source.topicTemplate, overrides: source.topicOverrides)
            } catch {
                throw ConfigurationError(.sourceTopicTemplate.forSource(source.name), error.description)
            }
            let route = Route(source: source, router: router, store: store, capacity: capacity)
            routes[source.name] = route
        }
        // What the store remembered before this start: retries of those deliveries stay duplicates.
        for remembered in store?.rememberedDeliveries ?? [] {
            routes[remembered.key.source]?.dedup.restore(
                remembered.key,
                digest: remembered.digest,
                expiresAt: remembered.expiresAt
            )
        }
        self.routes = routes
        self.delivery = delivery
        self.clock = clock
        self.metrics = metrics
    }

    /// The topics of every known event type of every source, sorted.
    var knownTopics: [String] {
        Set(routes.values.flatMap(\.knownTopics)).sorted()
    }

    /// The route of `/webhooks/{name}`, if it is served: a request resolves it once and hands it on.
    func route(_ name: String) -> Route? { routes[name] }

    /// What the request path knows of a request once its signature and body are checked.
    struct Checked: Sendable {
        var webhook: VerifiedWebhook
        var descriptor: EventDescriptor
        var topic: String
        /// The event type as a metric label (see ``Acceptance/eventLabel``).
        var label: String
        /// The value of the Kafka key field, if the body has one.
        var subject: String?
        /// What identifies the delivery for dedup: its id, or its body where the id is not signed.
        var key: DedupGuard.Key
        var digest: BodyDigest
    }

    /// Bodies at least this large are checked (signature, JSON, digests) on a thread pool rather
    /// than on the connection's event loop: an unsigned 5 MiB request costs milliseconds of hashing,
    /// and requests on other connections of that loop must not wait for it.
    static let offloadedBodySize = 256 << 10

    /// Checks a request where its size says (see ``offloadedBodySize``).
    private func check(
        _ route: Route,
        headers: HTTPFields,
        body: [UInt8],
        receivedAt: Date
    ) async throws(Rejection) -> Checked {
        let metrics = self.metrics
        guard body.count >= Self.offloadedBodySize else {
            return try Self.check(route, headers: headers, body: body, receivedAt: receivedAt, metrics: metrics)
        }
        let check: @Sendable () -> Result<Checked, Rejection> = {
            Result { () throws(Rejection) in
                try Self.check(route, headers: headers, body: body, receivedAt: receivedAt, metrics: metrics)
            }
        }
        // `nil` when the pool is shutting down: then it is checked here.
        let result = try? await NIOThreadPool.singleton.runIfActive(check)
        return try (result ?? check()).get()
    }

    /// Verifies the signature, then reads what the body must give (its JSON, the key field) and
    /// digests it for dedup.
    private static func check(
        _ route: Route,
        headers: HTTPFields,
        body: [UInt8],
        receivedAt: Date,
        metrics: RelayMetrics
    ) throws(Rejection) -> Checked {
        let fields = BodyFields(body: body, capturing: route.bodyFields)
        let webhook: VerifiedWebhook
        let verifyStarted = ContinuousClock.now
        do {
            webhook = try route.scheme.verify(
                WebhookRequest(headers: headers, body: body),
                now: receivedAt,
                fields: fields
            )
        } catch {
            throw .rejected(error)
        }
        metrics.verification(duration: ContinuousClock.now - verifyStarted)
        let (descriptor, topic, label) = route.describe(webhook.eventType)
        let subject: String?
        do {
            if webhook.reply != nil {
                subject = nil
            } else if let key = route.key ?? descriptor.keyField {
                subject = try fields.value(at: key)
            } else {
                _ = try fields.values()
                subject = nil
            }
        } catch {
            guard case .invalidBody(let scanError) = error else { throw .rejected(error) }
            throw .invalidJSON(scanError)
        }
        // An unsigned delivery id is the sender's word only: anyone holding a body from a topic
        // could re-send it under new ids. Then the body itself is the delivery.
        let key =
            route.dedupsOnBody
            ? DedupGuard.Key.body(source: route.name, body)
            : DedupGuard.Key(source: route.name, deliveryID: webhook.deliveryID)
        return Checked(
            webhook: webhook,
            descriptor: descriptor,
            topic: topic,
            label: label,
            subject: subject,
            key: key,
            digest: BodyDigest(of: body)
        )
    }

    /// Verifies, deduplicates, wraps and delivers one webhook; returns only once the event is durable.
    func process(_ route: Route, headers: HTTPFields, body: [UInt8]) async throws(Rejection) -> Acceptance {
        let name = route.name
        let receivedAt = clock.now()
        let checked = try await check(route, headers: headers, body: body, receivedAt: receivedAt)
        let (webhook, descriptor, topic, label, subject, key, digest) = (
            checked.webhook, checked.descriptor, checked.topic, checked.label, checked.subject, checked.key,
            checked.digest
        )
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
        if !descriptor.isKnown { metrics.unknownEventType(source: name, eventType: label) }
        let now = clock.unixSeconds
        let reservation = route.dedup.reserve(key, digest: digest, signedAt: webhook.signedAt ?? now, now: now)
        switch reservation {
        case .fresh: break
        case .duplicate:
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                eventLabel: label,
                status: .duplicate,
                topic: nil,
                ack: nil,
                receivedAt: receivedAt
            )
        case .conflict: break  // kept below, once its record is made
        case .inProgress: throw .inProgress(deliveryID: webhook.deliveryID)
        case .full: throw .overloaded(limit: "remembered deliveries (dedup.max_entries)")
        }

        let event = RelayEvent(
            source: name,
            webhook: webhook,
            descriptor: descriptor,
            subject: subject,
            body: body,
            receivedAt: receivedAt
        )
        let record = route.envelope.record(for: event, topic: topic)
        if reservation == .conflict {
            try await keepConflicting(record, of: event, route: route, digest: digest, now: now)
            throw .conflict(deliveryID: webhook.deliveryID, keptIn: route.deadLetterTopic)
        }
        // In binary mode the value is the body, whose checksum the digest already is.
        let valueChecksum = record.value == body ? digest.checksum : nil
        switch await delivery.deliver(record, of: event, valueChecksum: valueChecksum) {
        case .published(let ack):
            route.dedup.confirm(key, digest: digest)
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                eventLabel: label,
                status: .published,
                topic: topic,
                ack: ack,
                receivedAt: receivedAt
            )
        case .buffered:
            route.dedup.confirm(key, digest: digest)
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                eventLabel: label,
                status: .buffered,
                topic: topic,
                ack: nil,
                receivedAt: receivedAt
            )
        case .unavailable(let reason):
            route.dedup.release(key)
            throw .unavailable(reason: reason)
        }
    }

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
