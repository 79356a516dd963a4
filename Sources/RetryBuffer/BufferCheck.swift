import Logging
import RelayPrimitives

/// What `buffer check` found: every frame's checksum verified, damage listed by file and offset.
public struct BufferCheckReport: Sendable, Hashable {
    /// One damaged byte range.
    public struct Damage: Sendable, Hashable {
        public enum Kind: String, Sendable {
            /// Bytes between intact frames that hold no intact frame.
            case corrupt
            /// An incomplete last frame (a write cut short by a crash).
            case tornTail = "torn-tail"
            /// The file does not start with a valid header.
            case badHeader = "bad-header"
        }

        public var file: String
        public var offset: Int
        public var length: Int
        public var kind: Kind
    }

    public var segments = 0
    public var records = 0
    public var stateEntries = 0
    public var damage: [Damage] = []
    /// Files written to `quarantine/` by this check.
    public var quarantined: [String] = []

    public var isClean: Bool { damage.isEmpty }
}

extension RetryBuffer {
    /// Verifies every frame of a buffer directory that no relay is using (its lock is taken for the
    /// duration). Without `quarantine` nothing in the directory changes, not even the lock file. With
    /// `quarantine`, damaged ranges are copied into new files in `quarantine/` (never through a link,
    /// never over an existing file) and removed from their files, so the next check is clean; intact
    /// records are kept; a directory that belongs to another user is refused.
    /// - Parameter progress: told the records and bytes checked so far, and the bytes to check in all,
    ///   after each file.
    public static func check(
        directory: String,
        quarantine: Bool,
        fileSystem base: any BufferFileSystem = POSIXFileSystem(),
        logger: Logger,
        progress: (_ records: Int, _ bytes: Int, _ totalBytes: Int) -> Void = { _, _, _ in }
    ) throws(BufferError) -> BufferCheckReport {
        let fileSystem = quarantine ? base : ReadOnlyFileSystem(base: base)
        if quarantine {
            do { try base.secure(directory: directory) } catch { throw .io(error) }
        }
        let lockPath = directory + "/" + SegmentFiles.lockName
        let lock: any BufferLock
        do {
            lock = try fileSystem.lock(lockPath)
        } catch {
            throw .locked(path: directory, holder: lockHolder(directory: directory, fileSystem: fileSystem))
        }
        defer { lock.release() }
        let checker = BufferChecker(directory: directory, fileSystem: fileSystem, logger: logger)
        do {
            return try checker.run(quarantine: quarantine, progress: progress)
        } catch {
            throw .io(error)
        }
    }

    /// Verifies every frame of this open buffer, read-only (the relay keeps running). An incomplete
    /// frame at the very end of the segment being appended to is a write in progress, not damage.
    public func check() throws(BufferError) -> BufferCheckReport {
        let segments = shared.mutex.withLock { index in
            index.segments.values.map { ($0.number, $0.log, $0.isActive) }.sorted { $0.0 < $1.0 }
        }
        var report = BufferCheckReport()
        do {
            for (number, log, isActive) in segments {
                report.segments += 1
                let bytes = try log.read(at: 0, count: try log.size)
                var found = BufferChecker.examine(
                    bytes,
                    name: SegmentFiles.logName(number),
                    number: number,
                    isSegment: true
                )
                if isActive { found.damage.removeAll { $0.kind == .tornTail } }
                report.records += found.count
                report.damage += found.damage
                let statePath = directory + "/" + SegmentFiles.stateName(number)
                if let state = try? fileSystemForReading.open(statePath, create: false) {
                    let stateBytes = try state.read(at: 0, count: try state.size)
                    var stateFound = BufferChecker.examine(
                        stateBytes,
                        name: SegmentFiles.stateName(number),
                        number: number,
                        isSegment: false
                    )
                    if isActive { stateFound.damage.removeAll { $0.kind == .tornTail } }
                    report.stateEntries += stateFound.count
                    report.damage += stateFound.damage
                }
            }
        } catch {
            throw .io(error)
        }
        return report
    }

    /// Reads the pid a lock holder left in the lock file, if any.
    static func lockHolder(directory: String, fileSystem: any BufferFileSystem) -> String? {
        guard let file = try? fileSystem.open(directory + "/" + SegmentFiles.lockName, create: false),
            let bytes = try? file.read(at: 0, count: 32)
        else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).filter(\.isNumber)
        return text.isEmpty ? nil : text
    }
}

/// The scanning behind ``RetryBuffer/check(directory:quarantine:fileSystem:logger:)``.
private struct BufferChecker {
    let directory: String
    let fileSystem: any BufferFileSystem
    let logger: Logger

    func run(
        quarantine: Bool,
        progress: (_ records: Int, _ bytes: Int, _ totalBytes: Int) -> Void
    ) throws(FileIOError) -> BufferCheckReport {
        var report = BufferCheckReport()
        let names = try fileSystem.contents(ofDirectory: directory).sorted()
        var sizes: [String: Int] = [:]
        for name in names
        where SegmentFiles.number(in: name, suffix: SegmentFiles.logSuffix) != nil
            || SegmentFiles.number(in: name, suffix: SegmentFiles.stateSuffix) != nil
        {
            sizes[name] = (try? fileSystem.open(directory + "/" + name, create: false).size) ?? 0
        }
        let total = sizes.values.reduce(0, +)
        var done = 0
        for name in names {
            if let number = SegmentFiles.number(in: name, suffix: SegmentFiles.logSuffix) {
                report.segments += 1
                try checkFile(name, number: number, isSegment: true, quarantine: quarantine, into: &report)
            } else if let number = SegmentFiles.number(in: name, suffix: SegmentFiles.stateSuffix) {
                try checkFile(name, number: number, isSegment: false, quarantine: quarantine, into: &report)
            } else {
                continue
            }
            done += sizes[name] ?? 0
            progress(report.records, done, total)
        }
        return report
    }

    private func checkFile(
        _ name: String,
        number: UInt64,
        isSegment: Bool,
        quarantine: Bool,
        into report: inout BufferCheckReport
    ) throws(FileIOError) {
        let path = directory + "/" + name
        let file = try fileSystem.open(path, create: false)
        let bytes = try file.read(at: 0, count: try file.size)
        let found = Self.examine(bytes, name: name, number: number, isSegment: isSegment)
        if isSegment { report.records += found.count } else { report.stateEntries += found.count }
        let damage = found.damage
        report.damage += damage
        guard quarantine, !damage.isEmpty else { return }

        let folder = directory + "/" + SegmentFiles.quarantineName
        try fileSystem.createSubdirectory(folder)
        for item in damage {
            let (copy, copyName) = try Self.newQuarantineFile(
                in: folder,
                named: "\(name)-at-\(item.offset)",
                fileSystem
            )
            try copy.write(Array(bytes[item.offset..<(item.offset + item.length)]), at: 0)
            try copy.synchronize()
            report.quarantined.append(SegmentFiles.quarantineName + "/" + copyName)
            logger.warning(
                "Moved damaged bytes to quarantine",
                metadata: ["file": "\(name)", "offset": "\(item.offset)"]
            )
        }
        try fileSystem.synchronizeDirectory(folder)
        if damage.contains(where: { $0.kind == .badHeader }) {
            try fileSystem.remove(path)
        } else {
            // Rewrite the file with its header and intact frames only, then swap it in atomically.
            var rewritten = Array(bytes.prefix(SegmentScanner.fileHeaderSize))
            for range in found.intact { rewritten += bytes[range] }
            let temporary = path + ".rewrite"
            // A leftover from an interrupted check goes first; whatever is there is never written through.
            try fileSystem.remove(temporary)
            let replacement = try fileSystem.createNew(temporary)
            try replacement.write(rewritten, at: 0)
            try replacement.synchronize()
            try fileSystem.rename(temporary, to: path)
        }
        try fileSystem.synchronizeDirectory(directory)
    }

    /// A new file for quarantined bytes, `NAME.bin`, or `NAME-2.bin`… when an interrupted check
    /// left one: an existing file, or a link planted there, is never opened.
    private static func newQuarantineFile(
        in folder: String,
        named name: String,
        _ fileSystem: any BufferFileSystem
    ) throws(FileIOError) -> (any BufferFile, String) {
        var attempt = 1
        while true {
            let file = attempt == 1 ? "\(name).bin" : "\(name)-\(attempt).bin"
            do {
                return (try fileSystem.createNew(folder + "/" + file), file)
            } catch  where error.isExisting && attempt < 100 {
                attempt += 1
            }
        }
    }

    /// The intact frames and the damage in one file's bytes.
    static func examine(
        _ bytes: [UInt8],
        name: String,
        number: UInt64,
        isSegment: Bool
    ) -> (count: Int, intact: [Range<Int>], damage: [BufferCheckReport.Damage]) {
        let header: Bool
        let corrupt: [Range<Int>]
        let validEnd: Int
        let intact: [Range<Int>]
        if isSegment {
            let scan = SegmentScanner.scanSegment(bytes, number: number)
            (header, corrupt, validEnd, intact) = (scan.headerIsValid, scan.corruptRanges, scan.validEnd, scan.intact)
        } else {
            let scan = SegmentScanner.scanStates(bytes, number: number)
            (header, corrupt, validEnd, intact) = (scan.headerIsValid, scan.corruptRanges, scan.validEnd, scan.intact)
        }
        guard header else {
            return (0, [], [.init(file: name, offset: 0, length: bytes.count, kind: .badHeader)])
        }
        var damage = corrupt.map {
            BufferCheckReport.Damage(file: name, offset: $0.lowerBound, length: $0.count, kind: .corrupt)
        }
        if validEnd < bytes.count {
            damage.append(.init(file: name, offset: validEnd, length: bytes.count - validEnd, kind: .tornTail))
        }
        return (intact.count, intact, damage)
    }
}
