import Synchronization

/// A record as listed by ``RetryBuffer/records(where:)``.
public struct StoredRecord: Sendable, Hashable {
    public var id: RecordID
    public var state: RecordState
    /// Why it is dead or dead-lettered, when it is.
    public var reason: String
    public var record: BufferRecord
}

extension RetryBuffer {
    /// Intact records on disk, oldest first, with their current state: those after `after` (a page
    /// cursor) that `include` accepts, at most `limit`. Segments wholly before the cursor are not read.
    public func records(
        after: RecordID? = nil,
        limit: Int = .max,
        where include: (StoredRecord) -> Bool = { _ in true }
    ) throws(BufferError) -> [StoredRecord] {
        let (segments, live) = shared.mutex.withLock { index in
            (index.segments.values.map { ($0.number, $0.log, $0.lastID) }.sorted { $0.0 < $1.0 }, index.entries)
        }
        var result: [StoredRecord] = []
        for (number, log, lastID) in segments {
            if let after, lastID <= after { continue }
            if result.count >= limit { break }
            let bytes: [UInt8]
            let stateBytes: [UInt8]
            do {
                bytes = try log.read(at: 0, count: try log.size)
                stateBytes = try readStateFile(number)
            } catch {
                throw .io(error)
            }
            var latest: [RecordID: BufferCodec.StateChange] = [:]
            for change in SegmentScanner.scanStates(stateBytes, number: number).items { latest[change.id] = change }
            for found in SegmentScanner.scanSegment(bytes, number: number).items {
                if let after, found.id <= after { continue }
                if result.count >= limit { break }
                guard case .frame(let payload, _) = RecordFrame.scan(bytes, at: found.offset),
                    let (id, appendedState, record) = try? BufferCodec.decodeRecord(Array(bytes[payload]))
                else { continue }
                var state = latest[id]?.state ?? appendedState
                var reason = latest[id]?.reason ?? ""
                if let entry = live[id] {
                    state = entry.state
                    reason = entry.reason
                } else if !state.isSettled {
                    // Settled in memory; its state change is still on its way to disk.
                    state = .delivered
                }
                var stored = StoredRecord(id: id, state: state, reason: reason, record: record)
                stored.record.attempts = live[id]?.attempts ?? latest[id]?.attempts ?? record.attempts
                if include(stored) { result.append(stored) }
            }
        }
        return result
    }

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
