import Logging
import Metrics

/// Rebuilds the index from the directory after a start or a crash: finishes interrupted deletions,
/// cuts torn tails, steps over damaged frames (reporting each), and applies recorded state changes.
struct BufferRecovery {
    let directory: String
    let fileSystem: any BufferFileSystem
    let logger: Logger
    let metricsFactory: any MetricsFactory

    struct Recovered {
        var index: BufferIndex
        var stateFiles: [UInt64: SegmentWriter.Files]
    }

    func run() throws(BufferError) -> Recovered {
        let base = directory + "/"
        let names: [String]
        do {
            names = try fileSystem.contents(ofDirectory: directory)
        } catch {
            throw .io(error)
        }
        var changedDirectory = false
        // A rename to .deleting is the commit point of a deletion: finish it.
        for name in names {
            guard let number = SegmentFiles.number(in: name, suffix: SegmentFiles.deletingSuffix) else { continue }
            try? fileSystem.remove(base + SegmentFiles.stateName(number))
            try? fileSystem.remove(base + name)
            changedDirectory = true
            logger.info("Finished deleting a buffer segment interrupted by a stop", metadata: ["segment": "\(number)"])
        }
        let logNumbers = Set(names.compactMap { SegmentFiles.number(in: $0, suffix: SegmentFiles.logSuffix) })
        for name in names {
            guard let number = SegmentFiles.number(in: name, suffix: SegmentFiles.stateSuffix),
                !logNumbers.contains(number)
            else {
                continue
            }
            try? fileSystem.remove(base + name)
            changedDirectory = true
        }

        var index = BufferIndex()
        var files: [UInt64: SegmentWriter.Files] = [:]
        var highestID: UInt64 = 0
        for number in logNumbers.sorted() {
            guard
                let segment = try recoverSegment(
                    number,
                    into: &index,
                    highestID: &highestID,
                    changedDirectory: &changedDirectory
                )
            else {
                continue
            }
            files[number] = segment
        }
        if changedDirectory {
            do {
                try fileSystem.synchronizeDirectory(directory)
            } catch {
                throw .io(error)
            }
        }
        index.nextID = highestID + 1
        return Recovered(index: index, stateFiles: files)
    }

    private func recoverSegment(
        _ number: UInt64,
        into index: inout BufferIndex,
        highestID: inout UInt64,
        changedDirectory: inout Bool
    ) throws(BufferError) -> SegmentWriter.Files? {
        let base = directory + "/"
        let logPath = base + SegmentFiles.logName(number)
        let statePath = base + SegmentFiles.stateName(number)
        do {
            let log = try fileSystem.open(logPath, create: false)
            let bytes = try log.read(at: 0, count: try log.size)
            let scan = SegmentScanner.scanSegment(bytes, number: number)
            guard scan.headerIsValid else {
                // A crash while creating the segment leaves it shorter than its header: nothing in it
                // was ever acknowledged. Anything else without our header is set aside, not deleted.
                if bytes.count < SegmentScanner.fileHeaderSize {
                    try fileSystem.remove(logPath)
                    try? fileSystem.remove(statePath)
                } else {
                    try fileSystem.createSubdirectory(base + SegmentFiles.quarantineName)
                    try fileSystem.rename(
                        logPath,
                        to: base + SegmentFiles.quarantineName + "/" + SegmentFiles.logName(number)
                    )
                    try? fileSystem.remove(statePath)
                    logger.error(
                        "A buffer segment has no valid header; moved to quarantine",
                        metadata: ["segment": "\(number)"]
                    )
                    Counter(label: "relay_buffer_corrupt_ranges_total", factory: metricsFactory).increment()
                    index.corruptRangesFound += 1
                }
                changedDirectory = true
                return nil
            }
            if scan.validEnd < bytes.count {
                logger.warning(
                    "Cut off a torn tail in a buffer segment",
                    metadata: [
                        "segment": "\(number)", "offset": "\(scan.validEnd)", "bytes": "\(bytes.count - scan.validEnd)",
                    ]
                )
                try log.truncate(to: scan.validEnd)
                try log.synchronize()
            }
            for range in scan.corruptRanges {
                logger.error(
                    "Skipped a damaged range in a buffer segment",
                    metadata: ["segment": "\(number)", "offset": "\(range.lowerBound)", "bytes": "\(range.count)"]
                )
                Counter(label: "relay_buffer_corrupt_ranges_total", factory: metricsFactory).increment()
            }
            index.corruptRangesFound += scan.corruptRanges.count

            let state = try fileSystem.open(statePath, create: true)
            var stateBytes = try state.read(at: 0, count: try state.size)
            if stateBytes.count < SegmentScanner.fileHeaderSize {
                stateBytes = SegmentScanner.fileHeader(magic: SegmentScanner.stateMagic, number: number)
                try state.truncate(to: 0)
                try state.write(stateBytes, at: 0)
                try state.synchronize()
            }
            let states = SegmentScanner.scanStates(stateBytes, number: number)
            var stateSize = states.validEnd
            if !states.headerIsValid {
                // Unreadable state file: start it afresh; its records count as they were appended.
                let header = SegmentScanner.fileHeader(magic: SegmentScanner.stateMagic, number: number)
                try state.truncate(to: 0)
                try state.write(header, at: 0)
                try state.synchronize()
                stateSize = header.count
            } else if states.validEnd < stateBytes.count {
                try state.truncate(to: states.validEnd)
                try state.synchronize()
            }
            var latest: [RecordID: BufferCodec.StateChange] = [:]
            for change in states.items { latest[change.id] = change }

            index.segments[number] = BufferIndex.Segment(
                number: number,
                log: log,
                bytes: scan.validEnd + stateSize,
                corruptRanges: scan.corruptRanges
            )
            for found in scan.items {
                highestID = max(highestID, found.id.rawValue)
                let lastID = index.segments[number]?.lastID ?? found.id
                index.segments[number]?.lastID = max(lastID, found.id)
                let change = latest[found.id]
                var entry = BufferIndex.Entry(
                    id: found.id,
                    segment: number,
                    offset: found.offset,
                    frameLength: found.frameLength,
                    state: change?.state ?? found.state,
                    attempts: change?.attempts ?? found.attempts,
                    receivedAt: found.receivedAt,
                    orderingKey: found.orderingKey
                )
                entry.reason = change?.reason ?? ""
                index.insert(entry, frameLength: found.frameLength, settledAt: found.receivedAt)
            }
            return SegmentWriter.Files(
                number: number,
                log: log,
                state: state,
                logSize: scan.validEnd,
                stateSize: stateSize
            )
        } catch {
            throw .io(error)
        }
    }
}
