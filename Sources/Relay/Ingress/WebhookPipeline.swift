import HTTPTypes
import Logging
import RelayKafka
import SenderKit

/// The request path once HTTP framing is dealt with: verify → dedup → envelope → route → deliver.
/// It knows nothing of HTTP statuses; ``WebhookIngress`` maps its results and rejections to answers.
public struct WebhookPipeline: Sendable {
    /// An event the relay took responsibility for.
    public struct Acceptance: Sendable, Hashable {
        public enum Status: String, Sendable {
            /// Kafka acknowledged it.
            case published
            /// It is in the retry buffer (fsynced); the retrier will publish it.
            case buffered
            /// The same delivery was accepted before; nothing was published again.
            case duplicate
            /// The sender asked for an answer, not a published event (``VerifiedWebhook/reply``).
            case answered
        }

        public var deliveryID: String
        /// The verified event type.
        public var eventType: String
        public var status: Status
        public var topic: String?
        public var ack: KafkaAck?
        /// The body of an `answered` acceptance.
        public var reply: [UInt8]? = nil
    }

    /// Why the pipeline did not accept a request.
    public enum Rejection: Error, Sendable, Hashable {
        case unknownSource(String)
        case rejected(WebhookRejection)
        case invalidJSON(JSONScanError)
        /// The delivery id was accepted before with a different body.
        case conflict(deliveryID: String)
        /// The same delivery is being processed right now.
        case inProgress(deliveryID: String)
        /// The event could not be made durable; nothing was acknowledged.
        case unavailable(reason: String)
    }

    /// Everything one source needs on the request path, built once at start. A class, so a request
    /// takes one reference to it rather than copying (and retaining) each of its parts.
    final class Route: Sendable {
        let name: String
        let scheme: any WebhookScheme
        let router: TopicRouter
        let envelope: CloudEventEnvelope
        let dedup: DedupGuard
        /// The source's Kafka key field, when it overrides the sender's.
        let key: JSONPointer?
        /// The body fields to capture: the scheme's, then the source's key field.
        let bodyFields: [JSONPointer]
        /// The descriptor and topic of every known event type, built once.
        private let known: [String: (descriptor: EventDescriptor, topic: String)]

        init(source: RelayConfiguration.Source, router: TopicRouter, store: (any SeenDeliveryStore)?) {
            name = source.name
            scheme = source.scheme
            self.router = router
            envelope = CloudEventEnvelope(cloudEventSource: source.cloudEventSource, mode: source.contentMode)
            dedup = DedupGuard(window: source.replayWindow, store: store)
            key = source.key
            bodyFields = Route.bodyFields(of: source)
            var known: [String: (descriptor: EventDescriptor, topic: String)] = [:]
            for eventType in source.scheme.knownEventTypes {
                let descriptor = source.scheme.describe(eventType: eventType)
                known[eventType] = (descriptor, router.topic(source: source.name, descriptor: descriptor))
            }
            self.known = known
        }

        /// The topics of every known event type.
        var knownTopics: some Collection<String> { known.values.lazy.map(\.topic) }

        /// How `eventType` maps onto CloudEvents, and its topic.
        func describe(_ eventType: String) -> (descriptor: EventDescriptor, topic: String) {
            if let known = known[eventType] { return known }
            let descriptor = scheme.describe(eventType: eventType)
            return (descriptor, router.topic(source: name, descriptor: descriptor))
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

    public init(
        configuration: RelayConfiguration,
        delivery: EventDelivery,
        clock: any WallClock,
        metrics: RelayMetrics,
        store: (any SeenDeliveryStore)? = nil
    ) throws(ConfigurationError) {
        var routes: [String: Route] = [:]
        for source in configuration.sources {
            let router: TopicRouter
            do {
                router = try TopicRouter(template: source.topicTemplate, overrides: source.topicOverrides)
            } catch {
                throw ConfigurationError(.sourceTopicTemplate.forSource(source.name), error.description)
            }
            let route = Route(source: source, router: router, store: store)
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

    /// The names of the headers that identify a delivery of `source`, for the rejection log.
    func loggedHeaders(source name: String) -> LoggedHeaders? { routes[name]?.scheme.loggedHeaders }

    /// What to add when `source` gets a request that is not JSON.
    func mediaTypeHint(source name: String) -> String? { routes[name]?.scheme.mediaTypeHint }

    /// The topics of every known event type of every source, sorted.
    public var knownTopics: [String] {
        Set(routes.values.flatMap(\.knownTopics)).sorted()
    }

    /// Whether `/webhooks/{name}` is served.
    public func serves(source name: String) -> Bool { routes[name] != nil }

    /// Verifies, deduplicates, wraps and delivers one webhook; returns only once the event is durable.
    public func process(source name: String, headers: HTTPFields, body: [UInt8]) async throws(Rejection) -> Acceptance {
        guard let route = routes[name] else { throw .unknownSource(name) }
        let receivedAt = clock.now()
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
        if let reply = webhook.reply {
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                status: .answered,
                topic: nil,
                ack: nil,
                reply: reply
            )
        }
        let (descriptor, topic) = route.describe(webhook.eventType)
        if !descriptor.isKnown { metrics.unknownEventType(source: name, eventType: webhook.eventType) }
        let subject: String?
        do {
            if let key = route.key ?? descriptor.keyField {
                subject = try fields.value(at: key)
            } else {
                _ = try fields.values()
                subject = nil
            }
        } catch {
            guard case .invalidBody(let scanError) = error else { throw .rejected(error) }
            throw .invalidJSON(scanError)
        }

        let key = DedupGuard.Key(source: name, deliveryID: webhook.deliveryID)
        let digest = BodyDigest(of: body)
        let now = clock.unixSeconds
        switch route.dedup.reserve(key, digest: digest, signedAt: webhook.signedAt ?? now, now: now) {
        case .fresh: break
        case .duplicate:
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                status: .duplicate,
                topic: nil,
                ack: nil
            )
        case .conflict: throw .conflict(deliveryID: webhook.deliveryID)
        case .inProgress: throw .inProgress(deliveryID: webhook.deliveryID)
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
        // In binary mode the value is the body, whose checksum the digest already is.
        let valueChecksum = record.value == body ? digest.checksum : nil
        switch await delivery.deliver(record, of: event, valueChecksum: valueChecksum) {
        case .published(let ack):
            route.dedup.confirm(key, digest: digest)
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                status: .published,
                topic: topic,
                ack: ack
            )
        case .buffered:
            route.dedup.confirm(key, digest: digest)
            return Acceptance(
                deliveryID: webhook.deliveryID,
                eventType: webhook.eventType,
                status: .buffered,
                topic: topic,
                ack: nil
            )
        case .unavailable(let reason):
            route.dedup.release(key)
            throw .unavailable(reason: reason)
        }
    }
}
