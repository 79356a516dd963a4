/// The remembered deliveries of one source: 16 bytes an entry, in generations by expiry time.
///
/// A generation holds the entries that expire within one `width`-second span, in an open-addressing
/// table (linear probing) sized from the generation before it. When its span has passed, the whole
/// generation is dropped: no entry is ever rehashed to forget it, and growing one generation copies
/// only its own entries, so the memory peak stays close to what the live entries take (a replay
/// window of 300 s at 4,000 deliveries/s is about 1.2 million entries, about 30 MiB).
///
/// A slot is two words: the key fingerprint's high 64 bits, and
/// `digest << 32 | fingerprint low 17 bits << 15 | expiry offset << 3 | removed << 2 | accepted << 1 | 1`.
/// The 81 fingerprint bits make a false match need about 2^40 remembered ids at once.
struct DedupTable {
    /// A remembered delivery as the guard sees it.
    struct Entry: Equatable {
        var digest: UInt32
        var expiresAt: Int64
        var accepted: Bool
    }

    /// The table cannot take another entry: the relay's bound on remembered deliveries is reached,
    /// or the kernel refused the memory for a bigger generation.
    struct Full: Error, Hashable {}

    /// The widest generation: expiry offsets have 12 bits.
    static let maximumWidth: Int64 = 4095
    /// The fewest slots a generation starts with.
    static let minimumCapacity = 64

    private var generations: [Generation] = []
    /// Seconds of expiry time each generation spans.
    let width: Int64

    /// - Parameter window: the longest an entry is remembered; generations span an eighth of it.
    init(window: Int64) {
        self.init(width: (window + 7) / 8)
    }

    init(width: Int64) {
        self.width = min(Self.maximumWidth, max(1, width))
    }

    /// The live entry for a fingerprint, if any.
    func find(_ high: UInt64, _ low: UInt64, now: Int64) -> Entry? {
        guard let (generation, slot) = locate(high, low) else { return nil }
        let entry = generations[generation].entry(at: slot)
        return entry.expiresAt > now ? entry : nil
    }

    /// The live entry of a fingerprint if there is one; otherwise `entry` is added and `nil`
    /// returned, in one search of the generations.
    /// - Parameter hasRoom: whether a new entry may be added, asked with ``entryCount`` once the
    ///   expired generations are gone; a live entry is found either way.
    /// - Throws: ``Full`` when `entry` would be new and there is no room, or no memory, for it.
    mutating func findOrInsert(
        _ high: UInt64,
        _ low: UInt64,
        _ entry: Entry,
        now: Int64,
        hasRoom: (_ entryCount: Int) -> Bool = { _ in true }
    ) throws(Full) -> Entry? {
        generations.removeAll { $0.start + width <= now }
        let existing = locate(high, low)
        if let (generation, slot) = existing {
            let found = generations[generation].entry(at: slot)
            if found.expiresAt > now { return found }
        }
        guard hasRoom(entryCount) else { throw Full() }
        try place(high, low, entry, replacing: existing)
        return nil
    }

    /// Marks the entry of a fingerprint accepted, live or not, where it is (its expiry, and so its
    /// generation, stay the same); returns it, in one search.
    mutating func accept(_ high: UInt64, _ low: UInt64) throws(Full) -> Entry? {
        guard let (generation, slot) = locate(high, low) else { return nil }
        var entry = generations[generation].entry(at: slot)
        entry.accepted = true
        try generations[generation].write(slot, high, low, entry)
        return entry
    }

    /// Writes `entry` into the generation of its expiry, over `existing` if it is in that one.
    private mutating func place(
        _ high: UInt64,
        _ low: UInt64,
        _ entry: Entry,
        replacing existing: (generation: Int, slot: Int)?
    ) throws(Full) {
        let start = entry.expiresAt - Self.floorModulo(entry.expiresAt, width)
        if let (generation, slot) = existing {
            if generations[generation].start == start {
                try generations[generation].write(slot, high, low, entry)
                return
            }
            try generations[generation].markRemoved(slot)
        }
        let target = try generationIndex(start: start)
        try generations[target].insert(high, low, entry)
    }

    /// Forgets a fingerprint.
    mutating func remove(_ high: UInt64, _ low: UInt64) throws(Full) {
        guard let (generation, slot) = locate(high, low) else { return }
        try generations[generation].markRemoved(slot)
    }

    /// Slots in all generations (16 bytes each).
    var capacity: Int { generations.reduce(0) { $0 + $1.capacity } }

    /// Entries held, live or expired but not yet dropped with their generation (what the relay's
    /// bound counts).
    var entryCount: Int { generations.reduce(0) { $0 + $1.liveCount } }

    /// Live entries (a full scan; for tests and statistics).
    func count(now: Int64) -> Int {
        generations.reduce(0) { total, generation in
            total
                + (0..<generation.capacity).count { generation.isLive($0) && generation.entry(at: $0).expiresAt > now }
        }
    }

    // MARK: Generations

    /// Newest generation first: a fingerprint has a live slot in one generation at most, and a
    /// delivery reserved moments ago sits in the newest (its expiry is the furthest out), so the
    /// confirmation that follows its publish finds it with one probe, not one per generation (each
    /// a cache miss in a table of a million entries).
    private func locate(_ high: UInt64, _ low: UInt64) -> (generation: Int, slot: Int)? {
        for index in generations.indices.reversed() {
            if let slot = generations[index].slot(of: high, low) { return (index, slot) }
        }
        return nil
    }

    /// The generation starting at `start`, created (sized from its predecessor) if there is none.
    private mutating func generationIndex(start: Int64) throws(Full) -> Int {
        if let index = generations.firstIndex(where: { $0.start == start }) { return index }
        let previous = generations.last { $0.start < start }
        let expected = (previous?.liveCount ?? 0) * 3 / 2
        guard let generation = Generation(start: start, width: width, capacity: max(Self.minimumCapacity, expected))
        else { throw Full() }
        let index = generations.firstIndex { $0.start > start } ?? generations.endIndex
        generations.insert(generation, at: index)
        return index
    }

    private static func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

/// The entries expiring in `[start, start + width)`.
private struct Generation {
    let start: Int64
    private let width: Int64
    /// Two words a slot, in a mapping of their own (see ``MappedWords``); shared between copies
    /// until one of them changes.
    private var slots: MappedWords
    private(set) var capacity: Int
    /// Used slots, removed ones included (what decides when to grow).
    private var occupied = 0
    /// Used slots not removed.
    private(set) var liveCount = 0

    private static let used: UInt64 = 1
    private static let accepted: UInt64 = 1 << 1
    private static let removed: UInt64 = 1 << 2
    private static let offsetShift: UInt64 = 3
    private static let offsetMask: UInt64 = 0xFFF
    private static let lowShift: UInt64 = 15
    private static let lowMask: UInt64 = 0x1FFFF

    init?(start: Int64, width: Int64, capacity: Int) {
        guard let slots = MappedWords(count: capacity * 2) else { return nil }
        self.start = start
        self.width = width
        self.capacity = capacity
        self.slots = slots
    }

    /// The slot of a live (not removed) fingerprint.
    func slot(of high: UInt64, _ low: UInt64) -> Int? {
        let tag = Self.tag(low)
        var index = home(high)
        while slots[index * 2 + 1] & Self.used != 0 {
            let packed = slots[index * 2 + 1]
            if slots[index * 2] == high, packed >> Self.lowShift & Self.lowMask == tag, packed & Self.removed == 0 {
                return index
            }
            index = index + 1 == capacity ? 0 : index + 1
        }
        return nil
    }

    func isLive(_ index: Int) -> Bool {
        slots[index * 2 + 1] & (Self.used | Self.removed) == Self.used
    }

    func entry(at index: Int) -> DedupTable.Entry {
        let packed = slots[index * 2 + 1]
        return DedupTable.Entry(
            digest: UInt32(truncatingIfNeeded: packed >> 32),
            expiresAt: start + Int64(packed >> Self.offsetShift & Self.offsetMask),
            accepted: packed & Self.accepted != 0
        )
    }

    /// - Throws: ``DedupTable/Full`` when the generation must grow and no memory can be had (it
    ///   then goes on at a higher load while a slot is free).
    mutating func insert(_ high: UInt64, _ low: UInt64, _ entry: DedupTable.Entry) throws(DedupTable.Full) {
        if (occupied + 1) * 4 > capacity * 3, !grow(), occupied + 1 >= capacity { throw DedupTable.Full() }
        var index = home(high)
        while slots[index * 2 + 1] & Self.used != 0 { index = index + 1 == capacity ? 0 : index + 1 }
        try write(index, high, low, entry)
        occupied += 1
        liveCount += 1
    }

    mutating func write(
        _ index: Int,
        _ high: UInt64,
        _ low: UInt64,
        _ entry: DedupTable.Entry
    ) throws(DedupTable.Full) {
        try makeSlotsUnique()
        let offset = UInt64(max(0, min(entry.expiresAt - start, width - 1)))
        slots[index * 2] = high
        slots[index * 2 + 1] =
            UInt64(entry.digest) << 32 | Self.tag(low) << Self.lowShift | offset << Self.offsetShift
            | (entry.accepted ? Self.accepted : 0) | Self.used
    }

    /// Keeps the slot used (probe sequences pass through it) but no longer matching.
    mutating func markRemoved(_ index: Int) throws(DedupTable.Full) {
        try makeSlotsUnique()
        slots[index * 2 + 1] |= Self.removed
        liveCount -= 1
    }

    /// Rehashes the live entries into twice their number of slots; `false` (and nothing changed)
    /// when no memory can be had for them.
    private mutating func grow() -> Bool {
        let newCapacity = max(DedupTable.minimumCapacity, liveCount * 2 + 2)
        guard let grown = MappedWords(count: newCapacity * 2) else { return false }
        let old = slots
        let oldCapacity = capacity
        capacity = newCapacity
        slots = grown
        occupied = 0
        for index in 0..<oldCapacity where old[index * 2 + 1] & (Self.used | Self.removed) == Self.used {
            var target = home(old[index * 2])
            while slots[target * 2 + 1] & Self.used != 0 { target = target + 1 == capacity ? 0 : target + 1 }
            slots[target * 2] = old[index * 2]
            slots[target * 2 + 1] = old[index * 2 + 1]
            occupied += 1
        }
        liveCount = occupied
        return true
    }

    /// Copies the slots shared with another copy of the table before one of them changes (the
    /// relay's tables are never copied; tests copy them).
    private mutating func makeSlotsUnique() throws(DedupTable.Full) {
        if !isKnownUniquelyReferenced(&slots) {
            guard let copy = slots.copy() else { throw DedupTable.Full() }
            slots = copy
        }
    }

    /// Where a fingerprint's probe sequence starts (its high word scaled to the capacity).
    private func home(_ high: UInt64) -> Int {
        Int(truncatingIfNeeded: high.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    private static func tag(_ low: UInt64) -> UInt64 { low & lowMask }
}
