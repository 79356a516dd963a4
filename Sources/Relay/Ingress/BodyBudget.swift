import Synchronization

/// The request-body bytes the relay holds at once, across every connection and source
/// (`http.max_body_bytes_in_flight`). Bodies are held whole before any check, so without a bound
/// fifty unsigned 5 MiB uploads at once would take 250 MiB; with it, a request that would pass the
/// bound is answered 503 with `Retry-After` from its head (or, for a chunked body, as soon as a
/// chunk would pass it), and its body is read and dropped, never kept.
final class BodyBudget: Sendable {
    /// The bound, in bytes.
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` of the budget; `false`, with nothing taken, when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { return false }
            let (exchanged, found) = used.compareExchange(
                expected: current,
                desired: current + bytes,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = found
        }
    }

    /// Gives back bytes taken with ``reserve(_:)``.
    func release(_ bytes: Int) {
        if bytes > 0 { used.subtract(bytes, ordering: .relaxed) }
    }
}
