import CoreMetrics
import Metrics
import Prometheus
import RelayKafka
import RelayPrimitives
import RetryBuffer

/// Every metric the relay exports, named in one place, recorded through a per-relay
/// `MetricsFactory` (so several relays in one process, as in tests, never mix their figures).
public struct RelayMetrics: Sendable {
    /// Every metric family the relay exports (histograms also as `_bucket`, `_sum`, `_count`), for
    /// dashboards and alert rules to be checked against.
    public static let names: Set<String> = [
        "relay_requests_total", "relay_request_duration_seconds", "relay_verify_duration_seconds",
        "relay_unknown_event_types_total", "relay_publish_total", "relay_publish_duration_seconds",
        "relay_retries_total", "relay_dead_letters_total", "relay_replayed_total",
        "relay_buffer_pending_records", "relay_buffer_pending_bytes", "relay_buffer_dead_records",
        "relay_buffer_archived_records", "relay_buffer_in_flight_records", "relay_buffer_bytes",
        "relay_buffer_max_bytes", "relay_buffer_segments", "relay_buffer_oldest_pending_age_seconds",
        "relay_kafka_connected", "relay_buffer_fsync_seconds", "relay_buffer_write_failures_total",
        "relay_buffer_corrupt_ranges_total", "relay_config_reloads_total",
    ]

    let factory: any MetricsFactory
    private let handles: MetricHandles
    /// The recent past, for the admin console.
    public let activity: ActivityLog

    public init(factory: any MetricsFactory, activity: ActivityLog = ActivityLog(clock: SystemWallClock())) {
        self.factory = factory
        self.handles = MetricHandles(factory: factory)
        self.activity = activity
    }

    // MARK: Requests

    /// One answered webhook request. `eventType` is only set once the request is verified (an
    /// unverified header must not create label values); `outcome` is `published`, `buffered`,
    /// `duplicate` or the error code; `accepted` is the delivery the relay took responsibility for.
    func request(
        source: String,
        eventType: String?,
        outcome: String,
        duration: Duration,
        accepted: ActivityLog.Event? = nil
    ) {
        handles.counter("relay_requests_total", Names.sourceTypeOutcome, (source, eventType ?? "unverified", outcome))
            .increment()
        handles.timer("relay_request_duration_seconds", Names.source, (source, "", "")).recordNanoseconds(
            duration.nanoseconds
        )
        activity.request(source: source, outcome: outcome)
        if let accepted { activity.record(accepted) }
    }

    /// One event of a delivery that carried several (the delivery itself is counted by
    /// ``request(source:eventType:outcome:duration:accepted:)`` as `batch`).
    func batchEvent(source: String, eventType: String, outcome: String, accepted: ActivityLog.Event?) {
        handles.counter("relay_batch_events_total", Names.sourceTypeOutcome, (source, eventType, outcome)).increment()
        if let accepted { activity.record(accepted) }
    }

    func verification(duration: Duration) {
        handles.verifyTimer.recordNanoseconds(duration.nanoseconds)
    }

    func unknownEventType(source: String, eventType: String) {
        handles.counter("relay_unknown_event_types_total", Names.sourceType, (source, eventType, "")).increment()
    }

    // MARK: Delivery

    /// Kafka acknowledged an event on the request path after `waited`.
    func published(waited: Duration) {
        handles.publishedAcked.increment()
        handles.publishTimer.recordNanoseconds(waited.nanoseconds)
        activity.publishLatency(waited)
    }

    /// The request path could not publish an event: it was `buffered` or is `unavailable`, and why.
    func notPublished(outcome: String, reason: String) {
        handles.counter(MetricHandles.publishTotal, Names.outcomeReason, (outcome, reason, "")).increment()
    }

    /// One configuration reload: `applied`, `refused` (a setting that needs a restart changed) or
    /// `failed` (the new configuration is invalid); the running one stays unless `applied`.
    func reload(outcome: String) {
        handles.counter("relay_config_reloads_total", Names.outcome, (outcome, "", "")).increment()
    }

    /// Spans handed to the collector (`exported`), or lost because it failed or was too slow and the
    /// export queue was full (`dropped`).
    func tracingSpans(outcome: String, count: Int) {
        guard count > 0 else { return }
        handles.counter("relay_tracing_spans_total", Names.outcome, (outcome, "", "")).increment(by: count)
    }

    /// One retrier attempt: `delivered`, `failed` (will retry) or `rejected` (permanent).
    func retry(outcome: String) {
        handles.counter("relay_retries_total", Names.outcome, (outcome, "", "")).increment()
    }

    /// An event sent to its dead-letter topic: `published` (Kafka refused it permanently),
    /// `kept_dead` (the dead-letter topic refused it too), or `conflict` (a verified delivery whose id
    /// was accepted before with another body).
    func deadLetter(outcome: String) {
        handles.counter("relay_dead_letters_total", Names.outcome, (outcome, "", "")).increment()
    }

    /// A record Kafka acknowledged again on an operator's replay.
    func replayed(_ event: ActivityLog.Event) {
        handles.counter("relay_replayed_total", [], ("", "", "")).increment()
        activity.record(event)
    }

    // MARK: State, sampled when scraped

    /// Buffer depth, bytes and age, and Kafka's connection state, as gauges.
    func sample(
        buffer statistics: BufferStatistics,
        maximumBufferSize: Int,
        connectivity: KafkaConnectivity,
        nowMillis: Int64
    ) {
        func gauge(_ label: String, _ value: Double) {
            handles.gauge(label).record(value)
        }
        gauge("relay_buffer_pending_records", Double(statistics.pendingCount))
        gauge("relay_buffer_pending_bytes", Double(statistics.pendingBytes))
        gauge("relay_buffer_dead_records", Double(statistics.deadCount))
        gauge("relay_buffer_archived_records", Double(statistics.archivedCount))
        gauge("relay_buffer_in_flight_records", Double(statistics.inFlightCount))
        gauge("relay_buffer_bytes", Double(statistics.totalBytes))
        gauge("relay_buffer_max_bytes", Double(maximumBufferSize))
        gauge("relay_buffer_segments", Double(statistics.segmentCount))
        gauge(
            "relay_buffer_oldest_pending_age_seconds",
            statistics.oldestPendingReceivedAt.map { max(0, Double(nowMillis - $0) / 1000) } ?? 0
        )
        gauge("relay_kafka_connected", connectivity == .reachable ? 1 : 0)
    }
}

/// The label names of each metric's dimensions (one array each, not one per request).
private enum Names {
    static let source = ["source"]
    static let sourceType = ["source", "event_type"]
    static let sourceTypeOutcome = ["source", "event_type", "outcome"]
    static let outcome = ["outcome"]
    static let outcomeReason = ["outcome", "reason"]
}

/// Metric handles made once per label set and reused: making one goes through the registry's lock
/// and lookups, which the request path should not pay on every request. A lookup builds no array:
/// the label values (up to three) are the key, the names come from ``Names``.
private final class MetricHandles: Sendable {
    typealias Values = (String, String, String)

    private struct Key: Hashable {
        var label: String
        var first: String
        var second: String
        var third: String

        init(_ label: String, _ values: Values) {
            self.label = label
            (first, second, third) = values
        }
    }

    static let publishTotal = "relay_publish_total"

    private let factory: any MetricsFactory
    /// What every published request records, held here so the request path looks nothing up. The
    /// timers exist from the start; the counter only once an event is published (a relay that has
    /// published nothing shows no `relay_publish_total`).
    let verifyTimer: CoreMetrics.Timer
    let publishTimer: CoreMetrics.Timer
    var publishedAcked: CoreMetrics.Counter {
        if let counter = acked.withLock({ $0 }) { return counter }
        let counter = counter(Self.publishTotal, Names.outcomeReason, ("published", "acked", ""))
        acked.withLock { $0 = counter }
        return counter
    }
    private let acked = Locked<CoreMetrics.Counter?>(nil)
    private let counters = Locked<[Key: CoreMetrics.Counter]>([:])
    private let timers = Locked<[Key: CoreMetrics.Timer]>([:])
    private let gauges = Locked<[String: CoreMetrics.Gauge]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        verifyTimer = CoreMetrics.Timer(label: "relay_verify_duration_seconds", dimensions: [], factory: factory)
        publishTimer = CoreMetrics.Timer(label: "relay_publish_duration_seconds", dimensions: [], factory: factory)
    }

    func counter(_ label: String, _ names: [String], _ values: Values) -> CoreMetrics.Counter {
        counters.withLock { cache in
            let key = Key(label, values)
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: Self.pairs(names, values), factory: factory)
            cache[key] = counter
            return counter
        }
    }

    func timer(_ label: String, _ names: [String], _ values: Values) -> CoreMetrics.Timer {
        timers.withLock { cache in
            let key = Key(label, values)
            if let timer = cache[key] { return timer }
            let timer = CoreMetrics.Timer(label: label, dimensions: Self.pairs(names, values), factory: factory)
            cache[key] = timer
            return timer
        }
    }

    private static func pairs(_ names: [String], _ values: Values) -> [(String, String)] {
        Array(zip(names, [values.0, values.1, values.2]))
    }

    func gauge(_ label: String) -> CoreMetrics.Gauge {
        gauges.withLock { cache in
            if let gauge = cache[label] { return gauge }
            let gauge = CoreMetrics.Gauge(label: label, factory: factory)
            cache[label] = gauge
            return gauge
        }
    }
}

/// The Prometheus registry behind a relay's metrics, and its text exposition.
package struct MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let metrics: RelayMetrics

    public init(clock: any WallClock = SystemWallClock()) {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        metrics = RelayMetrics(factory: factory, activity: ActivityLog(clock: clock))
    }

    /// The Prometheus text format of every metric.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
