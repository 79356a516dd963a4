import Foundation
import Logging
import Metrics
import RelayPrimitives

/// The append path: frames written with one gathered write per segment, state changes, capacity.
extension SegmentWriter {
    /// Appends the frames of a batch to the active segment (rolling or evicting as needed), with one
    /// write per run of frames that land in the same segment; returns where each went, or why not.
    func writeAppends(
        _ appends: [Append]
    ) -> (written: [(Append, UInt64, Int)], failed: [(Append, BufferError)]) {
        var written: [(Append, UInt64, Int)] = []
        var failed: [(Append, BufferError)] = []
        // Frames bound for one segment, written with one gathered write (no copy into one buffer).
        var chunk: [[UInt8]] = []
        var chunkBytes = 0
        var chunkAppends: [(Append, Int)] = []
        var chunkSegment: Files?

        func flushChunk() {
            defer {
                chunk.removeAll(keepingCapacity: true)
                chunkBytes = 0
                chunkAppends.removeAll(keepingCapacity: true)
            }
            guard let segment = chunkSegment, !chunk.isEmpty else { return }
            let start = segment.logSize
            do {
                try segment.log.write(gathering: chunk, at: start)
                segment.logSize = start + chunkBytes
                written += chunkAppends.map { ($0.0, segment.number, $0.1) }
            } catch {
                // Leave no partial frame behind; if even that fails, continue in a fresh segment.
                do {
                    try segment.log.truncate(to: start)
                } catch {
                    try? roll()
                }
                recordWriteFailure()
                failed += chunkAppends.map { ($0.0, .io(error)) }
            }
        }

        for append in appends {
            do throws(BufferError) {
                try ensureCapacity(for: append.frame.count + chunkBytes)
                if active == nil {
                    flushChunk()
                    try roll()
                }
                guard let segment = active else { throw .closed }
                let size = segment.logSize + (chunkSegment === segment ? chunkBytes : 0)
                if size + append.frame.count > configuration.segmentSize, size > SegmentScanner.fileHeaderSize {
                    flushChunk()
                    try roll()
                }
                guard let target = active else { throw .closed }
                if chunkSegment !== target {
                    flushChunk()
                    chunkSegment = target
                }
                chunkAppends.append((append, target.logSize + chunkBytes))
                chunk.append(append.frame)
                chunkBytes += append.frame.count
            } catch {
                if case .io = error { recordWriteFailure() }
                failed.append((append, error))
            }
        }
        flushChunk()
        return (written, failed)
    }

    func recordWriteFailure() {
        writeFailures.increment()
        let now = clock()
        shared.mutex.withLock { $0.lastWriteFailureAt = now }
    }

    func writeState(_ frame: [UInt8], segment number: UInt64) {
        guard let segment = files[number] else { return }
        do {
            try segment.state.write(frame, at: segment.stateSize)
            segment.stateSize += frame.count
            dirtyStates.insert(number)
        } catch {
            // A lost state change only means the record may be published again after a restart.
            writeFailures.increment()
            try? segment.state.truncate(to: segment.stateSize)
            logger.warning("Could not record a buffer state change", metadata: ["error": "\(error)"])
        }
    }

    /// Makes room for `count` more bytes by evicting settled segments, oldest first. The seen
    /// journal counts toward the maximum size: it grows with the deliveries accepted, buffered or
    /// not.
    func ensureCapacity(for count: Int) throws(BufferError) {
        var total = shared.mutex.withLock { $0.totalBytes } + seenJournal.totalBytes
        guard total + count > configuration.maximumSize else { return }
        let evictable = shared.mutex.withLock { index in
            index.segments.values.filter { !$0.isActive && $0.unsettled == 0 }.map(\.number).sorted()
        }
        for number in evictable where total + count > configuration.maximumSize {
            let freed = files[number].map { $0.logSize + $0.stateSize } ?? 0
            if deleteSegment(number) { total -= freed }
        }
        guard total + count <= configuration.maximumSize else { throw .full(maximumSize: configuration.maximumSize) }
    }
}
