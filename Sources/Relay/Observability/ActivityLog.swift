import Foundation
import RelayPrimitives

/// What the admin console shows of the recent past: requests per source and outcome in 10-second
/// buckets over the last 15 minutes, the latest publish latencies, and the most recent accepted
/// deliveries. Bounded: 90 buckets a series, 2,048 latencies, 500 deliveries.
public final class ActivityLog: Sendable {
    public static let bucketSeconds: Int64 = 10
    public static let bucketCount = 90
    public static let latencyCapacity = 2_048
    public static let eventCapacity = 500

    /// One accepted delivery, as the Events page lists it.
    public struct Event: Codable, Sendable, Hashable {
        public var id: String
        public var source: String
        public var eventType: String
        /// `published`, `buffered`, or `replayed` (published again by a replay).
        public var status: String
        public var topic: String?
        public var partition: Int32?
        public var offset: Int64?
        /// Milliseconds since 1970.
        public var receivedAt: Int64

        enum CodingKeys: String, CodingKey {
            case id, source, status, topic, partition, offset
            case eventType = "event_type"
            case receivedAt = "received_at"
        }
    }

    /// `GET /admin/activity`: counts per source and outcome, oldest bucket first, ending with the
    /// current one.
    public struct Series: Codable, Sendable, Hashable {
        public var bucketSeconds: Int64
        /// Start of the first bucket, seconds since 1970.
        public var start: Int64
        public var sources: [String: [String: [Int]]]
        public var publishP50Milliseconds: Double?
        public var publishP99Milliseconds: Double?
        public var publishSamples: Int

        enum CodingKeys: String, CodingKey {
            case start, sources
            case bucketSeconds = "bucket_seconds"
            case publishP50Milliseconds = "publish_p50_ms"
            case publishP99Milliseconds = "publish_p99_ms"
            case publishSamples = "publish_samples"
        }
    }

    private struct State {
        /// Bucket number (seconds / bucketSeconds) → source → outcome → count.
        var buckets: [Int64: [String: [String: Int]]] = [:]
        var latencies = BoundedRing<(at: Int64, milliseconds: Double)>(capacity: ActivityLog.latencyCapacity)
        var events = BoundedRing<Event>(capacity: ActivityLog.eventCapacity)
    }

    private let state = Locked(State())
    private let clock: any WallClock

    public init(clock: any WallClock) {
        self.clock = clock
    }

    /// One answered webhook request (`published`, `buffered`, `duplicate` or an error code).
    func request(source: String, outcome: String) {
        let bucket = clock.unixMilliseconds / 1000 / Self.bucketSeconds
        state.withLock { state in
            state.buckets[bucket, default: [:]][source, default: [:]][outcome, default: 0] += 1
            if state.buckets.count > Self.bucketCount + 1 {
                let oldest = bucket - Int64(Self.bucketCount)
                state.buckets = state.buckets.filter { $0.key > oldest }
            }
        }
    }

    /// How long the request path waited for Kafka's acknowledgement.
    func publishLatency(_ waited: Duration) {
        let sample = (at: clock.unixMilliseconds, milliseconds: Double(waited.nanoseconds) / 1_000_000)
        state.withLock { $0.latencies.append(sample) }
    }

    /// A delivery the relay took responsibility for, or published again by a replay.
    func record(_ event: Event) {
        state.withLock { $0.events.append(event) }
    }

    /// The last 15 minutes; latency quantiles over the samples of those minutes.
    public func series() -> Series {
        let now = clock.unixMilliseconds
        let current = now / 1000 / Self.bucketSeconds
        let first = current - Int64(Self.bucketCount) + 1
        let (buckets, latencies) = state.withLock { ($0.buckets, $0.latencies.oldestFirst) }
        var sources: [String: [String: [Int]]] = [:]
        for (bucket, bySource) in buckets where bucket >= first && bucket <= current {
            for (source, byOutcome) in bySource {
                for (outcome, count) in byOutcome {
                    sources[source, default: [:]][outcome, default: Array(repeating: 0, count: Self.bucketCount)][
                        Int(bucket - first)
                    ] += count
                }
            }
        }
        let windowStart = first * Self.bucketSeconds * 1000
        let recent = latencies.filter { $0.at >= windowStart }.map(\.milliseconds).sorted()
        func quantile(_ q: Double) -> Double? {
            recent.isEmpty ? nil : recent[min(recent.count - 1, Int((Double(recent.count) * q).rounded(.down)))]
        }
        return Series(
            bucketSeconds: Self.bucketSeconds,
            start: first * Self.bucketSeconds,
            sources: sources,
            publishP50Milliseconds: quantile(0.5),
            publishP99Milliseconds: quantile(0.99),
            publishSamples: recent.count
        )
    }

    /// The most recent accepted deliveries, newest first, that match every given field.
    public func events(source: String? = nil, eventType: String? = nil, status: String? = nil, limit: Int) -> [Event] {
        let events = state.withLock { $0.events.oldestFirst }
        return Array(
            events.reversed().lazy.filter { event in
                (source == nil || event.source == source) && (eventType == nil || event.eventType == eventType)
                    && (status == nil || event.status == status)
            }
            .prefix(max(0, limit))
        )
    }
}

/// The newest `capacity` elements: once full, each append overwrites the oldest.
private struct BoundedRing<Element> {
    let capacity: Int
    private var storage: [Element] = []
    /// Where the next append goes; once full, the oldest element.
    private var next = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[next] = element
        }
        next = (next + 1) % capacity
    }

    var oldestFirst: [Element] { Array(storage[next...] + storage[..<next]) }
}
