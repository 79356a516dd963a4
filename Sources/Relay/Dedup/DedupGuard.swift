import RetryBuffer
import Synchronization

/// Remembers which deliveries were accepted, so that a delivery retried by the sender (after a lost
/// answer) or replayed by an attacker within the window is not published twice.
///
/// A delivery is identified by source and delivery id, and fingerprinted by a digest of its body:
/// the same id with the same body is a retry (answered 200 as if accepted again); the same id with
/// a different body is a conflict (409). An id is reserved while its event is being made durable,
/// so two copies arriving together cannot both be published.
public final class DedupGuard: Sendable {
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

    /// A 128-bit fingerprint of a key (two independently salted SipHashes), of which the table keeps 81
    /// bits instead of two strings: a false match would need about 2^40 ids remembered at once.
    private struct Fingerprint: Hashable {
        var high: UInt64
        var low: UInt64

        init(_ key: Key) {
            var first = Hasher()
            first.combine(0x5A as UInt8)
            first.combine(key.source)
            first.combine(key.deliveryID)
            var second = Hasher()
            second.combine(0xA5 as UInt8)
            second.combine(key.deliveryID)
            second.combine(key.source)
            high = UInt64(bitPattern: Int64(first.finalize()))
            low = UInt64(bitPattern: Int64(second.finalize()))
        }
    }

    private let table: Mutex<DedupTable>
    /// Deliveries remembered by an older relay without a digest this one can compare, with their
    /// expiry: until then any body under their id is a retry, never a conflict. Filled only at
    /// start, from such a relay's journal, and read only when digests differ.
    private let undigested = Mutex(Undigested())
    private let window: Int64
    private let store: (any SeenDeliveryStore)?

    /// - Parameters:
    ///   - window: how long (seconds) an accepted delivery id is remembered. An entry also lives at
    ///     least until its signed timestamp leaves the sender's tolerance, after which a replay is
    ///     refused as stale anyway.
    ///   - store: persists confirmed deliveries, so the memory survives a restart.
    public init(window: Int64, store: (any SeenDeliveryStore)? = nil) {
        self.window = window
        self.store = store
        self.table = Mutex(DedupTable(window: window))
    }

    /// Remembers deliveries accepted before a restart; `digest` is `nil` for one remembered by an
    /// older relay without a comparable digest.
    public func restore(_ key: Key, digest: BodyDigest?, expiresAt: Int64) {
        let fingerprint = Fingerprint(key)
        let entry = DedupTable.Entry(digest: digest?.checksum ?? 0, expiresAt: expiresAt, accepted: true)
        // Kept if the id is already known (expired or not): the first remembered copy wins.
        let known = table.withLock { $0.findOrInsert(fingerprint.high, fingerprint.low, entry, now: .min) }
        if known == nil, digest == nil { undigested.withLock { $0.add(fingerprint, expiresAt: expiresAt) } }
    }

    /// The number of remembered deliveries (accepted or in flight) at `now`.
    public func count(now: Int64) -> Int { table.withLock { $0.count(now: now) } }

    /// Slots the table holds, live or not (16 bytes each).
    public var storageSlots: Int { table.withLock { $0.capacity } }

    /// Reserves a delivery id, or says why it must not be published again.
    /// - Parameters:
    ///   - signedAt: the delivery's signed time (Unix seconds).
    ///   - now: the current time (Unix seconds).
    public func reserve(_ key: Key, digest: BodyDigest, signedAt: Int64, now: Int64) -> Reservation {
        let fingerprint = Fingerprint(key)
        let reserved = DedupTable.Entry(
            digest: digest.checksum,
            expiresAt: max(now + window, signedAt + window),
            accepted: false
        )
        let found = table.withLock { table in
            table.findOrInsert(fingerprint.high, fingerprint.low, reserved, now: now)
        }
        guard let found else { return .fresh }
        guard found.digest == digest.checksum || isUndigested(fingerprint, now: now) else { return .conflict }
        return found.accepted ? .duplicate : .inProgress
    }

    private func isUndigested(_ fingerprint: Fingerprint, now: Int64) -> Bool {
        undigested.withLock { $0.contains(fingerprint, now: now) }
    }

    private struct Undigested {
        private var expiries: [Fingerprint: Int64] = [:]
        private var latest = Int64.min

        mutating func add(_ fingerprint: Fingerprint, expiresAt: Int64) {
            expiries[fingerprint] = expiresAt
            latest = max(latest, expiresAt)
        }

        /// Whether `fingerprint` is remembered without a digest at `now`; all are forgotten at once
        /// when the last has expired.
        mutating func contains(_ fingerprint: Fingerprint, now: Int64) -> Bool {
            if !expiries.isEmpty, latest <= now { expiries = [:] }
            return expiries[fingerprint].map { $0 > now } ?? false
        }
    }

    /// Marks a reserved delivery as accepted (its event is durable).
    public func confirm(_ key: Key, digest: BodyDigest) {
        let fingerprint = Fingerprint(key)
        let expiresAt = table.withLock { $0.accept(fingerprint.high, fingerprint.low)?.expiresAt }
        if let expiresAt, let store { store.remember(key, digest: digest, expiresAt: expiresAt) }
    }

    /// Forgets a reserved delivery whose event could not be made durable, so the sender's retry is
    /// processed normally.
    public func release(_ key: Key) {
        let fingerprint = Fingerprint(key)
        table.withLock { table in
            if let entry = table.find(fingerprint.high, fingerprint.low, now: .min), !entry.accepted {
                table.remove(fingerprint.high, fingerprint.low)
            }
        }
    }
}

/// The CRC-32C of a body: enough to tell a sender's retry (the same body) from a different payload
/// under the same delivery id. It need not be cryptographic: only a sender holding the signing
/// secret gets this far, and the replay table keeps 32 bits of whatever digest it is given. CRC-32C
/// runs in hardware (about 0.1 ms a MiB, SHA-256 0.75 ms), and the archive frame reuses it for the
/// body's share of its own checksum, so the body is read once for both.
public struct BodyDigest: Hashable, Sendable {
    public var checksum: UInt32

    public init(checksum: UInt32) {
        self.checksum = checksum
    }

    /// The digest of `body`.
    public init(of body: [UInt8]) {
        self.init(checksum: CRC32C.checksum(body))
    }
}
