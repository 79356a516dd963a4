import DequeModule
import HeapModule

/// The in-memory picture of the buffer, shared by request handlers, whoever drains it and the writer
/// thread (always inside the buffer's mutex). Settled records are only counted; unsettled ones
/// (pending, dead) have an entry each.
struct BufferIndex {
    struct Entry {
        var id: RecordID
        var segment: UInt64
        var offset: Int
        var frameLength: Int
        var state: RecordState
        var attempts: UInt32
        var receivedAt: Int64
        var orderingKey: UInt64
        var inFlight = false
        var reason = ""
    }

    struct Segment {
        var number: UInt64
        var log: any BufferFile
        var bytes: Int
        var unsettled = 0
        var settledCount = 0
        var settledBytes = 0
        var newestSettledAt: Int64 = 0
        var isActive = false
        var corruptRanges: [Range<Int>] = []
        /// The highest record id in the segment (ids grow with segment numbers).
        var lastID = RecordID(rawValue: 0)
    }

    var entries: [RecordID: Entry] = [:]
    /// Pending records of each ordering key, oldest first: only the head of a key may be published.
    var keyQueues: [UInt64: Deque<RecordID>] = [:]
    /// Keys whose head may be claimed, by head id (oldest first). Entries are checked when popped,
    /// so a stale one (the head changed, or went in flight) is simply dropped.
    var readyKeys = Heap<ReadyKey>()
    var segments: [UInt64: Segment] = [:]
    var nextID: UInt64 = 1
    var closed = false
    var corruptRangesFound = 0
    /// When an append last failed on the disk (Unix milliseconds).
    var lastWriteFailureAt: Int64?

    struct ReadyKey: Comparable {
        var head: RecordID
        var key: UInt64
        static func < (lhs: ReadyKey, rhs: ReadyKey) -> Bool { lhs.head < rhs.head }
    }

    // MARK: Inserting

    mutating func insert(_ entry: Entry, frameLength: Int, settledAt: Int64) {
        guard segments[entry.segment] != nil else { return }
        if entry.state.isSettled {
            segments[entry.segment]!.settledCount += 1
            segments[entry.segment]!.settledBytes += frameLength
            segments[entry.segment]!.newestSettledAt = max(segments[entry.segment]!.newestSettledAt, settledAt)
            return
        }
        segments[entry.segment]!.unsettled += 1
        entries[entry.id] = entry
        if entry.state == .pending { enqueue(entry) }
    }

    // MARK: State changes

    /// Moves an unsettled record to `state`; returns its entry if the change must be written.
    mutating func transition(
        _ id: RecordID,
        to state: RecordState,
        attempts: UInt32?,
        reason: String,
        at now: Int64
    ) -> Entry? {
        guard var entry = entries[id] else { return nil }
        let wasPending = entry.state == .pending
        if wasPending && state != .pending { dequeue(entry) }
        entry.state = state
        entry.inFlight = false
        if let attempts { entry.attempts = attempts }
        entry.reason = reason
        if state.isSettled {
            entries[id] = nil
            segments[entry.segment]?.unsettled -= 1
            segments[entry.segment]?.settledCount += 1
            segments[entry.segment]?.settledBytes += entry.frameLength
            segments[entry.segment]?.newestSettledAt = now
        } else {
            entries[id] = entry
        }
        if !wasPending && state == .pending { enqueue(entry) }
        if wasPending && state == .pending { markReadyIfHead(entry.orderingKey) }
        return entry
    }

    /// Clears a record's in-flight mark; its key becomes claimable again if it is the head.
    mutating func release(_ id: RecordID, attempts: UInt32?) -> Entry? {
        guard var entry = entries[id], entry.inFlight else { return nil }
        entry.inFlight = false
        if let attempts { entry.attempts = attempts }
        entries[id] = entry
        if entry.state == .pending { markReadyIfHead(entry.orderingKey) }
        return entry
    }

    // Both change a key's queue in place: taking it out of the dictionary first would copy all of
    // it (the dictionary still holds it) for each record, quadratic in the backlog of one key.

    /// Adds a pending record to its key's queue, in id order.
    private mutating func enqueue(_ entry: Entry) {
        keyQueues[entry.orderingKey, default: []].insertInOrder(entry.id)
        markReadyIfHead(entry.orderingKey)
    }

    /// Takes a record out of its key's queue.
    private mutating func dequeue(_ entry: Entry) {
        guard let slot = keyQueues.index(forKey: entry.orderingKey) else { return }
        keyQueues.values[slot].remove(entry.id)
        if keyQueues.values[slot].isEmpty { keyQueues.remove(at: slot) }
        markReadyIfHead(entry.orderingKey)
    }

    private mutating func markReadyIfHead(_ key: UInt64) {
        guard let head = keyQueues[key]?.first, let entry = entries[head], entry.state == .pending, !entry.inFlight
        else {
            return
        }
        readyKeys.insert(ReadyKey(head: head, key: key))
    }

    // MARK: Claiming for delivery

    /// Marks one pending or dead record in flight (a replay), if it is not in flight already.
    mutating func claim(_ id: RecordID) -> Entry? {
        guard var entry = entries[id], !entry.inFlight else { return nil }
        entry.inFlight = true
        entries[id] = entry
        return entry
    }

    /// The oldest pending records that may be published now: the heads of their keys (so records of
    /// one key go out one at a time, in order), not in flight; marked in flight.
    mutating func claim(limit: Int) -> [Entry] {
        var claimed: [Entry] = []
        while claimed.count < limit, let ready = readyKeys.popMin() {
            guard keyQueues[ready.key]?.first == ready.head, var entry = entries[ready.head],
                entry.state == .pending, !entry.inFlight
            else { continue }
            entry.inFlight = true
            entries[ready.head] = entry
            claimed.append(entry)
        }
        return claimed
    }

    // MARK: Reading

    var totalBytes: Int { segments.values.reduce(0) { $0 + $1.bytes } }

    func statistics() -> BufferStatistics {
        var statistics = BufferStatistics()
        for entry in entries.values {
            switch entry.state {
            case .pending:
                statistics.pendingCount += 1
                statistics.pendingBytes += entry.frameLength
                statistics.oldestPendingReceivedAt = min(statistics.oldestPendingReceivedAt ?? .max, entry.receivedAt)
                if entry.inFlight { statistics.inFlightCount += 1 }
            case .dead:
                statistics.deadCount += 1
                statistics.deadBytes += entry.frameLength
            case .delivered, .deadLettered:
                break
            }
        }
        for segment in segments.values {
            statistics.archivedCount += segment.settledCount
            statistics.archivedBytes += segment.settledBytes
        }
        statistics.segmentCount = segments.count
        statistics.totalBytes = totalBytes
        statistics.corruptRanges = corruptRangesFound
        statistics.lastWriteFailureAt = lastWriteFailureAt
        return statistics
    }
}

extension Deque<RecordID> {
    /// Appends `id`, or, for a revived record older than the last, puts it back in its place.
    fileprivate mutating func insertInOrder(_ id: RecordID) {
        if let last, last > id {
            insert(id, at: firstIndex { $0 > id } ?? count)
        } else {
            append(id)
        }
    }

    /// Removes `id`: the head, as the buffer drains in order, or wherever it is.
    fileprivate mutating func remove(_ id: RecordID) {
        if first == id {
            removeFirst()
        } else if let position = firstIndex(of: id) {
            remove(at: position)
        }
    }
}
