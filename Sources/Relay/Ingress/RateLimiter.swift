import RelayPrimitives

/// Token buckets, one per limited source: on average `rate` requests per second, with bursts of up
/// to `burst` at once. A refused request costs nothing and learns how long to wait.
final class RateLimiter: Sendable {
    struct Limit: Sendable, Hashable {
        /// Requests per second on average.
        var rate: Int
        /// Requests accepted at once when the bucket is full.
        var burst: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let limits: [String: Limit]
    private let buckets: Locked<[String: Bucket]>
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter limits: by source name; sources without an entry are not limited.
    init(limits: [String: Limit], now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.limits = limits.filter { $0.value.rate > 0 }
        let start = now()
        buckets = Locked(
            self.limits.mapValues { Bucket(tokens: Double($0.burst), updated: start) }
        )
        self.now = now
    }

    /// Takes a token for one request from `source`: `nil` when admitted, otherwise the whole
    /// seconds (at least 1) until a token is available.
    func admit(_ source: String) -> Int? {
        guard let limit = limits[source] else { return nil }
        return buckets.withLock { buckets -> Int? in
            guard var bucket = buckets[source] else { return nil }
            let instant = now()
            let seconds = bucket.updated.duration(to: instant).seconds
            bucket.tokens = min(Double(limit.burst), bucket.tokens + seconds * Double(limit.rate))
            bucket.updated = instant
            defer { buckets[source] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / Double(limit.rate)).rounded(.up)))
        }
    }
}
