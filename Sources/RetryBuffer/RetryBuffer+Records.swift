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
    /// Every intact record on disk, oldest first, with its current state; `include` filters before
    /// the record is kept, so listing a large archive stays cheap in memory.
    public func records(where include: (StoredRecord) -> Bool = { _ in true }) throws(BufferError) -> [StoredRecord] {
        let (segments, live) = shared.mutex.withLock { index in
            (index.segments.values.map { ($0.number, $0.log) }.sorted { $0.0 < $1.0 }, index.entries)
        }
        var result: [StoredRecord] = []
        for (number, log) in segments {
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

    private func readStateFile(_ number: UInt64) throws(FileIOError) -> [UInt8] {
        let path = directory + "/" + SegmentFiles.stateName(number)
        guard let file = try? fileSystemForReading.open(path, create: false) else { return [] }
        return try file.read(at: 0, count: try file.size)
    }
}
