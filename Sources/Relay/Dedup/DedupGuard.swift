import Crypto
import RelayPrimitives
import SenderKit
import Synchronization

/// Remembers which deliveries were accepted, so that a delivery retried by the sender (after a lost
/// answer) or replayed by an attacker within the window is not published twice.
///
/// A delivery is identified by source and delivery id, and fingerprinted by a digest of its body:
/// the same id with the same body is a retry (answered 200 as if accepted again); the same id with
/// a different body is a conflict (409). An id is reserved while its event is being made durable,
/// so two copies arriving together cannot both be published.
final class DedupGuard: Sendable {
    /// Identifies one delivery.
    struct Key: Hashable, Sendable {
        var source: String
        var deliveryID: String

        init(source: String, deliveryID: String) {
            self.source = source
            self.deliveryID = deliveryID
        }

        /// The key of a delivery whose id is not signed: its body (`sha256:` and the body's
        /// SHA-256 in hex), so that a captured body re-sent under any id is the same delivery.
        /// SHA-256, not the CRC of ``BodyDigest``: two different bodies sharing a key would make
        /// the second a duplicate, never published.
        static func body(source: String, _ body: [UInt8]) -> Key {
            Key(source: source, deliveryID: "sha256:" + Hex.encode(Array(SHA256.hash(data: body))))
        }
    }

    /// The outcome of ``reserve(_:digest:signedAt:now:)``.
    enum Reservation: Sendable, Hashable {
        /// Not seen: go on, then ``confirm(_:)`` or ``release(_:)``.
        case fresh
        /// Already accepted with the same body.
        case duplicate
        /// Already accepted, or in progress, with a different body.
        case conflict
        /// The same delivery is being processed right now; the sender should retry shortly.
        case inProgress
        /// The relay remembers as many deliveries as its bound allows (or no memory can be had for
        /// one more): nothing can be accepted until some expire; the sender should retry later.
        case full
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

    private let table: Locked<DedupTable>
    /// Deliveries remembered by an older relay without a digest this one can compare, with their
    /// expiry: until then any body under their id is a retry, never a conflict. Filled only at
    /// start, from such a relay's journal, and read only when digests differ.
    private let undigested = Locked(Undigested())
    private let window: Int64
    private let store: (any SeenDeliveryStore)?
    private let capacity: DedupCapacity

    /// - Parameters:
    ///   - window: how long (seconds) an accepted delivery id is remembered. An entry also lives at
    ///     least until its signed timestamp leaves the sender's tolerance, after which a replay is
    ///     refused as stale anyway.
    ///   - store: persists confirmed deliveries, so the memory survives a restart.
    ///   - capacity: the bound on remembered deliveries, shared by every source of a relay.
    init(window: Int64, store: (any SeenDeliveryStore)? = nil, capacity: DedupCapacity = DedupCapacity()) {
        self.window = window
        self.store = store
        self.capacity = capacity
        self.table = Locked(DedupTable(window: window))
    }

    /// Runs `change` on the table and keeps the shared count of entries in step with it. `change`
    /// gets the room check for a new entry (see ``DedupTable/findOrInsert(_:_:_:now:hasRoom:)``),
    /// which counts what the change has freed so far.
    private func changeTable<Result: Sendable>(
        _ change: (inout DedupTable, _ hasRoom: (Int) -> Bool) throws(DedupTable.Full) -> Result
    ) throws(DedupTable.Full) -> Result {
        let capacity = self.capacity
        return try table.withLock { table throws(DedupTable.Full) in
            let before = table.entryCount
            defer { capacity.add(table.entryCount - before) }
            return try change(&table) { count in capacity.hasRoom(adding: count - before) }
        }
    }

    /// Remembers deliveries accepted before a restart; `digest` is `nil` for one remembered by an
    /// older relay without a comparable digest.
    func restore(_ key: Key, digest: BodyDigest?, expiresAt: Int64) {
        let fingerprint = Fingerprint(key)
        let entry = DedupTable.Entry(digest: digest?.checksum ?? 0, expiresAt: expiresAt, accepted: true)
        // Kept if the id is already known (expired or not): the first remembered copy wins. Beyond
        // the bound the rest is forgotten (their timestamps, or the window, still limit replays).
        let known: DedupTable.Entry??
        do {
            known = try changeTable { table, hasRoom throws(DedupTable.Full) in
                try table.findOrInsert(fingerprint.high, fingerprint.low, entry, now: .min, hasRoom: hasRoom)
            }
        } catch {
            known = nil
        }
        if case .some(nil) = known, digest == nil {
            undigested.withLock { $0.add(fingerprint, expiresAt: expiresAt) }
        }
    }

    /// The number of remembered deliveries (accepted or in flight) at `now`.
    func count(now: Int64) -> Int { table.withLock { $0.count(now: now) } }

    /// Slots the table holds, live or not (16 bytes each).
    var storageSlots: Int { table.withLock { $0.capacity } }

    /// Reserves a delivery id, or says why it must not be published again.
    /// - Parameters:
    ///   - signedAt: the delivery's signed time (Unix seconds).
    ///   - now: the current time (Unix seconds).
    func reserve(_ key: Key, digest: BodyDigest, signedAt: Int64, now: Int64) -> Reservation {
        let fingerprint = Fingerprint(key)
        let reserved = DedupTable.Entry(
            digest: digest.checksum,
            expiresAt: max(now + window, signedAt + window),
            accepted: false
        )
        let found: DedupTable.Entry?
        do {
            found = try changeTable { table, hasRoom throws(DedupTable.Full) in
                try table.findOrInsert(fingerprint.high, fingerprint.low, reserved, now: now, hasRoom: hasRoom)
            }
        } catch {
            return .full
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
    func confirm(_ key: Key, digest: BodyDigest) {
        let fingerprint = Fingerprint(key)
        // Accepting writes in place; it can only fail for a table that was copied, which this is not.
        let expiresAt = try? changeTable { table, _ throws(DedupTable.Full) in
            try table.accept(fingerprint.high, fingerprint.low)?.expiresAt
        }
        if let expiresAt = expiresAt ?? nil, let store { store.remember(key, digest: digest, expiresAt: expiresAt) }
    }

    /// Forgets a reserved delivery whose event could not be made durable, so the sender's retry is
    /// processed normally.
    func release(_ key: Key) {
        let fingerprint = Fingerprint(key)
        try? changeTable { table, _ throws(DedupTable.Full) in
            if let entry = table.find(fingerprint.high, fingerprint.low, now: .min), !entry.accepted {
                try table.remove(fingerprint.high, fingerprint.low)
            }
        }
    }
}

/// The bound on deliveries a relay remembers, across all its sources: each costs 16 to 43 bytes
/// (16 a slot, tables kept between three-quarters and three-eighths full), so the default of two
/// million is 32 to 86 MiB. At the bound a new delivery is refused with 503 and `Retry-After`
/// (the sender retries once some have expired), never a crash.
///
/// Several sources' tables add to the count under their own locks, so the bound may be passed by
/// one entry per source at most.
final class DedupCapacity: Sendable {
    /// The default bound, `dedup.max_entries`.
    static let defaultMaximumEntries = 2_000_000

    let maximumEntries: Int
    private let entries = Atomic<Int>(0)

    init(maximumEntries: Int = DedupCapacity.defaultMaximumEntries) {
        self.maximumEntries = maximumEntries
    }

    /// Entries remembered now, in every source.
    var count: Int { entries.load(ordering: .relaxed) }

    /// Whether one more entry may be added once `delta` entries (not counted yet) are added to the
    /// count.
    func hasRoom(adding delta: Int) -> Bool { count + delta < maximumEntries }

    func add(_ delta: Int) {
        if delta != 0 { entries.add(delta, ordering: .relaxed) }
    }
}

/// The CRC-32C of a body: enough to tell a sender's retry (the same body) from a different payload
/// under the same delivery id. It need not be cryptographic: only a sender holding the signing
/// secret gets this far, and the dedup table keeps 32 bits of whatever digest it is given. CRC-32C
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
