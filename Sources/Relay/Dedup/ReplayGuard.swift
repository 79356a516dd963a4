import Crypto
import DequeModule
import Synchronization

/// Remembers which deliveries were accepted, so that a delivery retried by the sender (after a lost
/// answer) or replayed by an attacker within the window is not published twice.
///
/// A delivery is identified by source and delivery id, and fingerprinted by a digest of its body:
/// the same id with the same body is a retry (answered 200 as if accepted again); the same id with
/// a different body is a conflict (409). An id is reserved while its event is being made durable,
/// so two copies arriving together cannot both be published.
public final class ReplayGuard: Sendable {
    /// Identifies one delivery.
    public struct Key: Hashable, Sendable {
        public var source: String
        public var deliveryID: String

        public init(source: String, deliveryID: String) {
            self.source = source
            self.deliveryID = deliveryID
        }
    }

    /// The outcome of ``reserve(_:digest:signedAt:now:)``.
    public enum Reservation: Sendable, Hashable {
        /// Not seen: go on, then ``confirm(_:)`` or ``release(_:)``.
        case fresh
        /// Already accepted with the same body.
        case duplicate
        /// Already accepted, or in progress, with a different body.
        case conflict
        /// The same delivery is being processed right now; the sender should retry shortly.
        case inProgress
    }

    private enum Phase {
        case inFlight
        case accepted
    }

    private struct Entry {
        var digest: BodyDigest
        var expiresAt: Int64
        var phase: Phase
    }

    /// Told about every confirmed delivery, to persist it (the retry buffer's seen journal).
    public typealias Journal = @Sendable (Key, BodyDigest, _ expiresAt: Int64) -> Void

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys in the order their entries were created, for cheap expiry from the front.
        var expiryOrder: Deque<(expiresAt: Int64, key: Key)> = []
    }

    private let state = Mutex(State())
    private let window: Int64
    private let journal: Journal?

    /// - Parameters:
    ///   - window: how long (seconds) an accepted delivery id is remembered. An entry also lives at
    ///     least until its signed timestamp leaves the sender's tolerance, after which a replay is
    ///     refused as stale anyway.
    ///   - journal: persists confirmed deliveries, so the memory survives a restart.
    public init(window: Int64, journal: Journal? = nil) {
        self.window = window
        self.journal = journal
    }

    /// Remembers deliveries accepted before a restart.
    public func restore(_ key: Key, digest: BodyDigest, expiresAt: Int64) {
        state.withLock { state in
            guard state.entries[key] == nil else { return }
            state.entries[key] = Entry(digest: digest, expiresAt: expiresAt, phase: .accepted)
            state.expiryOrder.append((expiresAt, key))
        }
    }

    /// The number of remembered deliveries (accepted or in flight).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Reserves a delivery id, or says why it must not be published again.
    /// - Parameters:
    ///   - signedAt: the delivery's signed time (Unix seconds).
    ///   - now: the current time (Unix seconds).
    public func reserve(_ key: Key, digest: BodyDigest, signedAt: Int64, now: Int64) -> Reservation {
        state.withLock { state in
            expire(&state, now: now)
            if let entry = state.entries[key] {
                guard entry.digest == digest else { return .conflict }
                return entry.phase == .accepted ? .duplicate : .inProgress
            }
            let expiresAt = max(now + window, signedAt + window)
            state.entries[key] = Entry(digest: digest, expiresAt: expiresAt, phase: .inFlight)
            state.expiryOrder.append((expiresAt, key))
            return .fresh
        }
    }

    /// Marks a reserved delivery as accepted (its event is durable).
    public func confirm(_ key: Key) {
        let entry = state.withLock { state -> Entry? in
            state.entries[key]?.phase = .accepted
            return state.entries[key]
        }
        if let entry { journal?(key, entry.digest, entry.expiresAt) }
    }

    /// Forgets a reserved delivery whose event could not be made durable, so the sender's retry is
    /// processed normally.
    public func release(_ key: Key) {
        state.withLock { state in
            if state.entries[key]?.phase == .inFlight { state.entries[key] = nil }
        }
    }

    private func expire(_ state: inout State, now: Int64) {
        while let oldest = state.expiryOrder.first, oldest.expiresAt <= now {
            state.expiryOrder.removeFirst()
            if let entry = state.entries[oldest.key], entry.expiresAt <= now, entry.phase == .accepted {
                state.entries[oldest.key] = nil
            }
        }
    }
}

/// A 128-bit SHA-256 prefix of a body: enough to tell a retry from a different payload.
public struct BodyDigest: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The digest of `body`.
    public init(of body: [UInt8]) {
        let hash = SHA256.hash(data: body)
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in hash.prefix(16).enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }
}
