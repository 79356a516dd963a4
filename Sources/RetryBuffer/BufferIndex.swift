/// The in-memory picture of the buffer, shared by request handlers, the retrier and the writer
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
    /// Ids of pending records in append order; entries that stopped being pending are skipped
    /// lazily and compacted away.
    var pendingOrder: [RecordID] = []
    var pendingOrderHead = 0
    var pendingPerKey: [UInt64: Int] = [:]
    var segments: [UInt64: Segment] = [:]
    var nextID: UInt64 = 1
    var closed = false
    var corruptRangesFound = 0
    /// When an append last failed on the disk (Unix milliseconds).
    var lastWriteFailureAt: Int64?

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
        if entry.state == .pending {
            pendingOrder.append(entry.id)
            pendingPerKey[entry.orderingKey, default: 0] += 1
        }
    }

    // MARK: State changes

    /// Moves an unsettled record to `state`; returns its segment if the change must be written.
    mutating func transition(
        _ id: RecordID,
        to state: RecordState,
        attempts: UInt32?,
        reason: String,
        at now: Int64
    ) -> Entry? {
        guard var entry = entries[id] else { return nil }
        if entry.state == .pending && state != .pending { leavePending(entry) }
        if entry.state != .pending && state == .pending {
            // A revived dead record joins the order at its place by id.
            let position = pendingOrder.partitioningIndex { $0 >= id }
            pendingOrder.insert(id, at: max(position, pendingOrderHead))
            pendingPerKey[entry.orderingKey, default: 0] += 1
        }
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
        return entry
    }

    private mutating func leavePending(_ entry: Entry) {
        let remaining = (pendingPerKey[entry.orderingKey] ?? 1) - 1
        pendingPerKey[entry.orderingKey] = remaining > 0 ? remaining : nil
    }

    // MARK: Claiming for delivery

    /// Marks one pending record in flight, if it is pending and not in flight already.
    mutating func claim(_ id: RecordID) -> Entry? {
        guard var entry = entries[id], !entry.inFlight else { return nil }
        entry.inFlight = true
        entries[id] = entry
        return entry
    }

    /// The oldest pending records that may be published now: not in flight, and first of their key
    /// among pending records (so records of one key go out one at a time, in order).
    mutating func claim(limit: Int) -> [Entry] {
        compactPendingOrder()
        var claimed: [Entry] = []
        var blockedKeys = Set<UInt64>()
        var index = pendingOrderHead
        while index < pendingOrder.count, claimed.count < limit {
            let id = pendingOrder[index]
            index += 1
            guard let entry = entries[id], entry.state == .pending else { continue }
            if blockedKeys.contains(entry.orderingKey) { continue }
            blockedKeys.insert(entry.orderingKey)
            if entry.inFlight { continue }
            entries[id]!.inFlight = true
            claimed.append(entries[id]!)
        }
        return claimed
    }

    /// Drops ids at the front that are no longer pending, and compacts when half the array is dead.
    private mutating func compactPendingOrder() {
        while pendingOrderHead < pendingOrder.count, entries[pendingOrder[pendingOrderHead]]?.state != .pending {
            pendingOrderHead += 1
        }
        if pendingOrderHead > 1024, pendingOrderHead * 2 > pendingOrder.count {
            pendingOrder.removeFirst(pendingOrderHead)
            pendingOrderHead = 0
        }
        if pendingOrder.count > 4096, pendingOrder.count > 2 * entries.count {
            pendingOrder = pendingOrder.filter { entries[$0]?.state == .pending }
            pendingOrderHead = 0
        }
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

extension Array where Element: Comparable {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true.
    fileprivate func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
