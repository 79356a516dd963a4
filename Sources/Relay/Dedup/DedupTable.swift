/// A compact open-addressing hash table of remembered deliveries: 24 bytes a slot (a 128-bit key
/// fingerprint, a 32-bit body digest, a 32-bit expiry with the accepted flag), linear probing,
/// expired entries dropped when the table is rebuilt. A replay window at thousands of requests per
/// second holds millions of ids; this keeps them at 36 to 64 bytes each.
struct DedupTable {
    /// A remembered delivery as the guard sees it.
    struct Entry: Equatable {
        var digest: UInt32
        var expiresAt: Int64
        var accepted: Bool
    }

    /// Three words a slot: fingerprint high, fingerprint low (never both 0 in a used slot), and
    /// `digest << 32 | accepted << 31 | (expiresAt - base)`.
    private var slots: [UInt64]
    private var mask: Int
    /// Slots holding something, expired or not (what decides the next rebuild).
    private var occupied = 0
    /// Expiry times are stored relative to this, in 31 bits (68 years).
    private let base: Int64

    init(capacity: Int = 1024, base: Int64) {
        let size = Self.powerOfTwo(atLeast: capacity)
        slots = [UInt64](repeating: 0, count: size * 3)
        mask = size - 1
        self.base = base
    }

    /// The live entry for a fingerprint, if any.
    func find(_ high: UInt64, _ low: UInt64, now: Int64) -> Entry? {
        guard let slot = slot(of: high, low) else { return nil }
        let entry = decode(slot)
        return entry.expiresAt > now ? entry : nil
    }

    /// Adds or replaces the entry of a fingerprint.
    mutating func set(_ high: UInt64, _ low: UInt64, _ entry: Entry, now: Int64) {
        let (high, low) = Self.nonZero(high, low)
        if let slot = slot(of: high, low) {
            write(slot, high, low, entry)
            return
        }
        if (occupied + 1) * 4 > (mask + 1) * 3 { rebuild(now: now) }
        var index = Int(truncatingIfNeeded: high) & mask
        while slots[index * 3] != 0 || slots[index * 3 + 1] != 0 {
            // An expired slot can take the new entry: lookups skip it anyway.
            if decode(index).expiresAt <= now { break }
            index = (index + 1) & mask
        }
        if slots[index * 3] == 0 && slots[index * 3 + 1] == 0 { occupied += 1 }
        write(index, high, low, entry)
    }

    /// Forgets a fingerprint (it stays as an expired slot until the next rebuild).
    mutating func remove(_ high: UInt64, _ low: UInt64) {
        guard let slot = slot(of: high, low) else { return }
        var entry = decode(slot)
        entry.expiresAt = base
        let (high, low) = Self.nonZero(high, low)
        write(slot, high, low, entry)
    }

    /// Slots in the table.
    var capacity: Int { mask + 1 }

    /// Live entries (a full scan; for tests and statistics).
    func count(now: Int64) -> Int {
        (0...mask).filter { isUsed($0) && decode($0).expiresAt > now }.count
    }

    // MARK: Slots

    private func slot(of high: UInt64, _ low: UInt64) -> Int? {
        let (high, low) = Self.nonZero(high, low)
        var index = Int(truncatingIfNeeded: high) & mask
        while isUsed(index) {
            if slots[index * 3] == high && slots[index * 3 + 1] == low { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    private func isUsed(_ index: Int) -> Bool {
        slots[index * 3] != 0 || slots[index * 3 + 1] != 0
    }

    private func decode(_ index: Int) -> Entry {
        let packed = slots[index * 3 + 2]
        return Entry(
            digest: UInt32(truncatingIfNeeded: packed >> 32),
            expiresAt: base + Int64(packed & 0x7FFF_FFFF),
            accepted: packed & 0x8000_0000 != 0
        )
    }

    private mutating func write(_ index: Int, _ high: UInt64, _ low: UInt64, _ entry: Entry) {
        let relative = UInt64(clamping: max(0, min(entry.expiresAt - base, 0x7FFF_FFFF)))
        slots[index * 3] = high
        slots[index * 3 + 1] = low
        slots[index * 3 + 2] = UInt64(entry.digest) << 32 | (entry.accepted ? 0x8000_0000 : 0) | relative
    }

    /// Rehashes the live entries into a table of at least 1.5 times their number (at most 2/3 full,
    /// so the next rebuild is at least 1/12 of the table's inserts away).
    private mutating func rebuild(now: Int64) {
        // Two passes over the old slots (count, then move) instead of a copy of the live entries:
        // the rebuild's peak memory is the old table plus the new one.
        var liveCount = 0
        for index in 0...mask where isUsed(index) && decode(index).expiresAt > now { liveCount += 1 }
        let old = self
        let size = Self.powerOfTwo(atLeast: max(1024, liveCount + liveCount / 2))
        slots = [UInt64](repeating: 0, count: size * 3)
        mask = size - 1
        occupied = 0
        for index in 0...old.mask where old.isUsed(index) {
            let entry = old.decode(index)
            guard entry.expiresAt > now else { continue }
            let (high, low) = (old.slots[index * 3], old.slots[index * 3 + 1])
            var target = Int(truncatingIfNeeded: high) & mask
            while isUsed(target) { target = (target + 1) & mask }
            write(target, high, low, entry)
            occupied += 1
        }
    }

    private static func nonZero(_ high: UInt64, _ low: UInt64) -> (UInt64, UInt64) {
        high == 0 && low == 0 ? (0, 1) : (high, low)
    }

    private static func powerOfTwo(atLeast value: Int) -> Int {
        var size = 1
        while size < value { size <<= 1 }
        return size
    }
}
