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

    private struct State {
        var limits: [String: Limit]
        var buckets: [String: Bucket]
    }

    private let state: Locked<State>
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter limits: by source name; sources without an entry are not limited.
    init(limits: [String: Limit], now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
        state = Locked(State(limits: [:], buckets: [:]))
        replace(limits: limits)
    }

    /// New limits (a reload): a source whose limit is unchanged keeps its bucket, a new or changed
    /// one starts full.
    func replace(limits: [String: Limit]) {
        let start = now()
        state.withLock { state in
            let limits = limits.filter { $0.value.rate > 0 }
            var buckets: [String: Bucket] = [:]
            for (source, limit) in limits {
                let kept = state.limits[source] == limit ? state.buckets[source] : nil
                buckets[source] = kept ?? Bucket(tokens: Double(limit.burst), updated: start)
            }
            state = State(limits: limits, buckets: buckets)
        }
    }

    /// Takes a token for one request from `source`: `nil` when admitted, otherwise the whole
    /// seconds (at least 1) until a token is available.
    func admit(_ source: String) -> Int? {
        state.withLock { state -> Int? in
            guard let limit = state.limits[source], var bucket = state.buckets[source] else { return nil }
            let instant = now()
            let seconds = bucket.updated.duration(to: instant).seconds
            bucket.tokens = min(Double(limit.burst), bucket.tokens + seconds * Double(limit.rate))
            bucket.updated = instant
            defer { state.buckets[source] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / Double(limit.rate)).rounded(.up)))
        }
    }
}
