import CoreMetrics
import Metrics
import Prometheus
import RelayKafka
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
        "relay_buffer_corrupt_ranges_total",
    ]

    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    // MARK: Requests

    /// One answered webhook request. `eventType` is only set once the request is verified (an
    /// unverified header must not create label values); `outcome` is `published`, `buffered`,
    /// `duplicate` or the error code.
    func request(source: String, eventType: String?, outcome: String, duration: Duration) {
        let dimensions = [("source", source), ("event_type", eventType ?? "unverified"), ("outcome", outcome)]
        Counter(label: "relay_requests_total", dimensions: dimensions, factory: factory).increment()
        Timer(label: "relay_request_duration_seconds", dimensions: [("source", source)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    func verification(duration: Duration) {
        Timer(label: "relay_verify_duration_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    func unknownEventType(source: String, eventType: String) {
        Counter(
            label: "relay_unknown_event_types_total",
            dimensions: [("source", source), ("event_type", eventType)],
            factory: factory
        )
        .increment()
    }

    // MARK: Delivery

    /// How the request path made an event durable (`published`, `buffered`, `unavailable`) and why.
    func publish(outcome: String, reason: String, waited: Duration?) {
        Counter(label: "relay_publish_total", dimensions: [("outcome", outcome), ("reason", reason)], factory: factory)
            .increment()
        if let waited {
            Timer(label: "relay_publish_duration_seconds", factory: factory).recordNanoseconds(waited.nanoseconds)
        }
    }

    /// One retrier attempt: `delivered`, `failed` (will retry) or `rejected` (permanent).
    func retry(outcome: String) {
        Counter(label: "relay_retries_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// A permanently refused event: `published` to the dead-letter topic, or `kept_dead`.
    func deadLetter(outcome: String) {
        Counter(label: "relay_dead_letters_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    func replayed(_ count: Int) {
        Counter(label: "relay_replayed_total", factory: factory).increment(by: count)
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
            Gauge(label: label, factory: factory).record(value)
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

/// The Prometheus registry behind a relay's metrics, and its text exposition.
public struct MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let metrics: RelayMetrics

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        metrics = RelayMetrics(factory: factory)
    }

    /// The Prometheus text format of every metric.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
