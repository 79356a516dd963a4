import RelayPrimitives

/// Where listings that stopped early stopped, so that the next page starts there.
struct ResumePoints {
    private(set) var points: [RecordID: (segment: UInt64, offset: Int)] = [:]

    /// Remembers where the frame after `id` starts; keeps the last few dozen only.
    mutating func remember(_ id: RecordID, at point: (segment: UInt64, offset: Int)) {
        if points.count >= 64 { points.removeAll(keepingCapacity: true) }
        points[id] = point
    }
}

/// A record as listed by ``RetryBuffer/records(where:)``.
public struct StoredRecord: Sendable, Hashable {
    public var id: RecordID
    public var state: RecordState
    /// Why it is dead or dead-lettered, when it is.
    public var reason: String
    /// Without its body when listed without bodies (`value` is then empty; see ``size``).
    public var record: BufferRecord
    /// The body's size in bytes, read with the body or not.
    public var size: Int

    public init(id: RecordID, state: RecordState, reason: String, record: BufferRecord, size: Int? = nil) {
        self.id = id
        self.state = state
        self.reason = reason
        self.record = record
        self.size = size ?? record.value.count
    }

    func withSize(_ size: Int) -> StoredRecord {
        var copy = self
        copy.size = size
        return copy
    }
}

extension RetryBuffer {
    /// Intact records on disk, oldest first, with their current state: those after `after` (a page
    /// cursor) that `include` accepts, at most `limit`, and no more once their bodies reach
    /// `maxBytes` (at least one record is returned, whatever its size). Segments wholly before the
    /// cursor are not read, and the rest only until the page is full, through a bounded window.
    /// Without `bodies` the records' values are empty and never read into memory.
    public func records(
        after: RecordID? = nil,
        limit: Int = .max,
        maxBytes: Int = .max,
        bodies: Bool = true,
        where include: (StoredRecord) -> Bool = { _ in true }
    ) throws(BufferError) -> [StoredRecord] {
        var result: [StoredRecord] = []
        guard limit > 0 else { return result }
        var bytes = 0
        try forEachRecord(after: after, bodies: bodies) { stored in
            if include(stored) {
                result.append(stored)
                bytes += stored.record.value.count
            }
            return result.count < limit && bytes < maxBytes
        }
        return result
    }

    /// Calls `visit` with every intact record on disk after `after`, oldest first, in its current
    /// state, until it returns `false`. Memory stays bounded whatever the buffer holds: segments are
    /// read through a window of 1 MiB plus the record at hand, and without `bodies` the records'
    /// values are not even copied (their `value` is empty), which is what counting needs.
    public func forEachRecord(
        after: RecordID? = nil,
        bodies: Bool = true,
        _ visit: (StoredRecord) throws(BufferError) -> Bool
    ) throws(BufferError) {
        let segments = shared.mutex.withLock { index in
            index.segments.values.map { ($0.number, $0.log, $0.lastID) }.sorted { $0.0 < $1.0 }
        }
        // A listing that continues where an earlier one stopped (the next page) starts there, not at
        // the segment's first frame: record ids follow the log, so nothing before it is wanted.
        let resume = after.flatMap { id in resumePoints.withLock { $0.points[id] } }
        for (number, log, lastID) in segments {
            if let after, lastID <= after { continue }
            var reader: SegmentFrameReader
            var latest: [RecordID: BufferCodec.StateChange] = [:]
            do {
                let start = resume.flatMap { $0.segment == number ? $0.offset : nil } ?? SegmentScanner.fileHeaderSize
                reader = SegmentFrameReader(file: log, size: try log.size, offset: start)
                for change in SegmentScanner.scanStates(try readStateFile(number), number: number).items {
                    latest[change.id] = change
                }
            } catch {
                throw .io(error)
            }
            while true {
                let frame: (offset: Int, payload: [UInt8])?
                do { frame = try reader.next() } catch { throw .io(error) }
                guard let frame else { break }
                guard
                    let (id, appendedState, record, size) = try? BufferCodec.decodeRecord(frame.payload, body: bodies)
                else { continue }
                if let after, id <= after { continue }
                let stored = current(id: id, appendedState: appendedState, record: record, latest: latest[id])
                guard try visit(stored.withSize(size))
                else {
                    let point = (segment: number, offset: reader.offset)
                    resumePoints.withLock { $0.remember(id, at: point) }
                    return
                }
            }
        }
    }

    /// A record read from disk, with the state the index (or its state file) has for it now.
    private func current(
        id: RecordID,
        appendedState: RecordState,
        record: BufferRecord,
        latest: BufferCodec.StateChange?
    ) -> StoredRecord {
        let live = shared.mutex.withLock { $0.entries[id] }
        var state = latest?.state ?? appendedState
        var reason = latest?.reason ?? ""
        if let live {
            state = live.state
            reason = live.reason
        } else if !state.isSettled {
            // Settled in memory; its state change is still on its way to disk.
            state = .delivered
        }
        var stored = StoredRecord(id: id, state: state, reason: reason, record: record)
        stored.record.attempts = live?.attempts ?? latest?.attempts ?? record.attempts
        return stored
    }

    /// The id the next appended record will get: records below it existed when this was read.
    public var nextRecordID: RecordID { shared.mutex.withLock { RecordID(rawValue: $0.nextID) } }

    /// One record with its current state, wherever it is (pending, dead or archived).
    public func storedRecord(_ id: RecordID) throws(BufferError) -> StoredRecord {
        let previous = id.rawValue > 0 ? RecordID(rawValue: id.rawValue - 1) : nil
        guard let found = try records(after: previous, limit: 1).first, found.id == id else { throw .notFound(id) }
        return found
    }

    private func readStateFile(_ number: UInt64) throws(FileIOError) -> [UInt8] {
        let path = directory + "/" + SegmentFiles.stateName(number)
        guard let file = try? fileSystemForReading.open(path, create: false) else { return [] }
        return try file.read(at: 0, count: try file.size)
    }
}
