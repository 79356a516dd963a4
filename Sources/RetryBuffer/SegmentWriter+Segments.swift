import Foundation
import Logging
import Metrics
import RelayPrimitives

/// Segment files: starting one, rolling to the next, deleting settled ones (quarantining damage).
extension SegmentWriter {

    /// Creates segment `number` and makes it the one appended to.
    func startNewSegment(number: UInt64) throws(BufferError) {
        let base = directory + "/"
        do {
            let log = try fileSystem.open(base + SegmentFiles.logName(number), create: true)
            let state = try fileSystem.open(base + SegmentFiles.stateName(number), create: true)
            try log.write(SegmentScanner.fileHeader(magic: SegmentScanner.segmentMagic, number: number), at: 0)
            try state.write(SegmentScanner.fileHeader(magic: SegmentScanner.stateMagic, number: number), at: 0)
            try log.synchronize()
            try state.synchronize()
            try fileSystem.synchronizeDirectory(directory)
            let header = SegmentScanner.fileHeaderSize
            let files = Files(number: number, log: log, state: state, logSize: header, stateSize: header)
            self.files[number] = files
            self.active = files
            shared.mutex.withLock { index in
                for key in index.segments.keys { index.segments[key]?.isActive = false }
                index.segments[number] = BufferIndex.Segment(
                    number: number,
                    log: log,
                    bytes: 2 * header,
                    isActive: true
                )
            }
        } catch {
            throw .io(error)
        }
    }

    func roll() throws(BufferError) {
        if let current = active {
            do {
                try current.log.synchronize()
            } catch {
                throw .io(error)
            }
            lazyLogs.remove(current.number)
        }
        let next = (files.keys.max() ?? 0) + 1
        try startNewSegment(number: next)
    }

    /// Deletes a segment: rename first (the atomic step), then remove its files.
    @discardableResult
    func deleteSegment(_ number: UInt64) -> Bool {
        let base = directory + "/"
        let corrupt = shared.mutex.withLock { $0.segments[number]?.corruptRanges ?? [] }
        if !corrupt.isEmpty, let segment = files[number] { quarantine(corrupt, of: segment) }
        do {
            try fileSystem.rename(base + SegmentFiles.logName(number), to: base + SegmentFiles.deletingName(number))
            try fileSystem.synchronizeDirectory(directory)
            try fileSystem.remove(base + SegmentFiles.stateName(number))
            try fileSystem.remove(base + SegmentFiles.deletingName(number))
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            logger.warning(
                "Could not delete a buffer segment",
                metadata: ["segment": "\(number)", "error": "\(error)"]
            )
            return false
        }
        files[number] = nil
        lazyLogs.remove(number)
        dirtyStates.remove(number)
        shared.mutex.withLock { $0.segments[number] = nil }
        return true
    }

    /// Copies damaged byte ranges into `quarantine/` before their segment goes.
    func quarantine(_ ranges: [Range<Int>], of segment: Files) {
        let folder = directory + "/" + SegmentFiles.quarantineName
        try? fileSystem.createSubdirectory(folder)
        for range in ranges {
            let name = "\(folder)/\(SegmentFiles.baseName(segment.number))-at-\(range.lowerBound).bin"
            guard let bytes = try? segment.log.read(at: range.lowerBound, count: range.count),
                let file = try? fileSystem.createNew(name)
            else { continue }
            try? file.write(bytes, at: 0)
            try? file.synchronize()
        }
        try? fileSystem.synchronizeDirectory(folder)
    }
}
