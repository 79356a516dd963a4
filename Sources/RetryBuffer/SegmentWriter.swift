import Foundation
import Logging
import Metrics
import Synchronization

/// The buffer's single writer: one thread that performs every write, `fsync`, segment roll and
/// segment deletion, in submission order. Appends that arrive together share one `fsync`.
///
/// `@unchecked Sendable`: the queue is guarded by `condition`; everything else mutable (`files`,
/// `active`, the dirty sets) is touched only by the writer thread, or before it starts.
final class SegmentWriter: @unchecked Sendable {
    struct Append {
        var entry: BufferIndex.Entry
        var frame: [UInt8]
        var durable: Bool
        var completion: (@Sendable (Result<RecordID, BufferError>) -> Void)?
    }

    enum Operation {
        case append(Append)
        case state(segment: UInt64, frame: [UInt8])
        case seen(SeenDelivery)
        case flush(@Sendable () -> Void)

        var isUrgent: Bool {
            switch self {
            case .append(let append): append.durable
            case .flush: true
            case .state, .seen: false
            }
        }
    }

    /// How long lazily written operations may wait for the writer.
    static let lazyDelay: TimeInterval = 0.005

    /// The open files of one segment.
    final class Files {
        let number: UInt64
        let log: any BufferFile
        let state: any BufferFile
        var logSize: Int
        var stateSize: Int

        init(number: UInt64, log: any BufferFile, state: any BufferFile, logSize: Int, stateSize: Int) {
            self.number = number
            self.log = log
            self.state = state
            self.logSize = logSize
            self.stateSize = stateSize
        }
    }

    private let directory: String
    private let configuration: BufferConfiguration
    private let fileSystem: any BufferFileSystem
    private let shared: SharedIndex
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let fsyncTimer: Timer
    private let writeFailures: Counter

    private let condition = NSCondition()
    private var queue: [Operation] = []
    private var urgentQueued = false
    private var lazySince: Date?
    private var stopping = false
    private var onStopped: (@Sendable () -> Void)?

    private var files: [UInt64: Files]
    private var active: Files?
    private var lazyLogs = Set<UInt64>()
    private var dirtyStates = Set<UInt64>()
    private var lastMaintenance = ContinuousClock.now
    private let retrierSignal = RetrierSignal()
    private let backgroundSync = DispatchQueue(label: "retry-buffer-lazy-sync")
    private let seenJournal: SeenJournal

    init(
        directory: String,
        configuration: BufferConfiguration,
        fileSystem: any BufferFileSystem,
        shared: SharedIndex,
        stateFiles: [UInt64: Files],
        logger: Logger,
        clock: @escaping @Sendable () -> Int64,
        metricsFactory: any MetricsFactory
    ) {
        self.fsyncTimer = Timer(label: "relay_buffer_fsync_seconds", factory: metricsFactory)
        self.writeFailures = Counter(label: "relay_buffer_write_failures_total", factory: metricsFactory)
        self.directory = directory
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.shared = shared
        self.files = stateFiles
        self.logger = logger
        self.clock = clock
        self.seenJournal = SeenJournal(bufferDirectory: directory, fileSystem: fileSystem)
    }

    // MARK: Submitting (any thread)

    func submit(_ operation: Operation) {
        condition.lock()
        if stopping {
            condition.unlock()
            if case .append(let append) = operation { append.completion?(.failure(.closed)) }
            if case .flush(let done) = operation { done() }
            return
        }
        queue.append(operation)
        // Someone waits for a durable append or a flush: wake the writer now. Archive copies, state
        // changes and seen ids wait for the next batch (at most `lazyDelay`), so that a busy relay
        // writes them with one system call per batch instead of one wake-up per request.
        if operation.isUrgent {
            urgentQueued = true
            condition.signal()
        } else if lazySince == nil {
            // The first lazy operation of a batch sets the writer's next wake-up to `lazyDelay`.
            lazySince = Date()
            condition.signal()
        }
        condition.unlock()
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "retry-buffer-writer"
        thread.start()
    }

    func stop(_ done: @escaping @Sendable () -> Void) {
        condition.lock()
        stopping = true
        onStopped = done
        condition.signal()
        condition.unlock()
    }

    func wakeRetrier() { retrierSignal.signal() }

    func waitForRetrierWake(timeout: Duration) async { await retrierSignal.wait(timeout: timeout) }

    // MARK: Writer thread

    private func run() {
        while true {
            condition.lock()
            let maintenanceDeadline = Date().addingTimeInterval(configuration.maintenanceInterval.seconds)
            while !urgentQueued && !stopping {
                let deadline =
                    lazySince.map { min($0.addingTimeInterval(Self.lazyDelay), maintenanceDeadline) }
                    ?? maintenanceDeadline
                if !condition.wait(until: deadline) { break }
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            urgentQueued = false
            lazySince = nil
            let finished = stopping
            condition.unlock()

            process(batch)
            if ContinuousClock.now - lastMaintenance >= configuration.maintenanceInterval {
                maintain()
            }
            if finished {
                condition.lock()
                let late = queue
                queue.removeAll()
                condition.unlock()
                process(late)
                synchronizeLazyWrites()
                let done = onStopped
                done?()
                retrierSignal.signal()
                return
            }
        }
    }

    private func process(_ batch: [Operation]) {
        guard !batch.isEmpty else { return }
        var appends: [Append] = []
        var states: [UInt64: [UInt8]] = [:]
        var seen: [SeenDelivery] = []
        var flushes: [@Sendable () -> Void] = []
        for operation in batch {
            switch operation {
            case .append(let append): appends.append(append)
            case .state(let segment, let frame): states[segment, default: []] += frame
            case .seen(let delivery): seen.append(delivery)
            case .flush(let done): flushes.append(done)
            }
        }
        let (written, failed) = writeAppends(appends)
        for (segment, frames) in states { writeState(frames, segment: segment) }
        if !seen.isEmpty {
            do {
                try seenJournal.append(seen)
            } catch {
                writeFailures.increment()
                logger.warning("Could not remember seen deliveries", metadata: ["error": "\(error)"])
            }
        }
        var toSync = Set<UInt64>()
        for (append, segment, _) in written {
            if append.durable { toSync.insert(segment) } else { lazyLogs.insert(segment) }
        }
        var syncFailures: [UInt64: BufferError] = [:]
        for number in toSync {
            guard let segment = files[number] else { continue }
            let started = ContinuousClock.now
            do {
                try segment.log.synchronize()
                lazyLogs.remove(number)
            } catch {
                syncFailures[number] = .io(error)
            }
            fsyncTimer.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        }
        if !flushes.isEmpty { synchronizeLazyWrites() }

        let now = clock()
        var addedPending = false
        shared.mutex.withLock { index in
            for (append, segment, offset) in written where syncFailures[segment] == nil {
                var entry = append.entry
                entry.segment = segment
                entry.offset = offset
                index.insert(entry, frameLength: append.frame.count, settledAt: now)
                let lastID = index.segments[segment]?.lastID ?? entry.id
                index.segments[segment]?.lastID = max(lastID, entry.id)
                addedPending = addedPending || entry.state == .pending
                index.segments[segment]?.bytes = files[segment].map { $0.logSize + $0.stateSize } ?? 0
            }
        }
        for (append, segment, _) in written {
            if let error = syncFailures[segment] {
                append.completion?(.failure(error))
            } else {
                append.completion?(.success(append.entry.id))
            }
        }
        for (append, error) in failed { append.completion?(.failure(error)) }
        for done in flushes { done() }
        if addedPending { retrierSignal.signal() }
    }

    /// Appends the frames of a batch to the active segment (rolling or evicting as needed), with one
    /// write per run of frames that land in the same segment; returns where each went, or why not.
    private func writeAppends(
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

    private func recordWriteFailure() {
        writeFailures.increment()
        let now = clock()
        shared.mutex.withLock { $0.lastWriteFailureAt = now }
    }

    private func writeState(_ frame: [UInt8], segment number: UInt64) {
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

    /// Makes room for `count` more bytes by evicting settled segments, oldest first.
    private func ensureCapacity(for count: Int) throws(BufferError) {
        var total = shared.mutex.withLock { $0.totalBytes }
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

    // MARK: Segments

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

    private func roll() throws(BufferError) {
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
    private func deleteSegment(_ number: UInt64) -> Bool {
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
    private func quarantine(_ ranges: [Range<Int>], of segment: Files) {
        let folder = directory + "/" + SegmentFiles.quarantineName
        try? fileSystem.createDirectory(folder)
        for range in ranges {
            let name = "\(folder)/\(SegmentFiles.baseName(segment.number))-at-\(range.lowerBound).bin"
            guard let bytes = try? segment.log.read(at: range.lowerBound, count: range.count),
                let file = try? fileSystem.open(name, create: true)
            else { continue }
            try? file.write(bytes, at: 0)
            try? file.synchronize()
        }
        try? fileSystem.synchronizeDirectory(folder)
    }

    // MARK: Maintenance

    private func maintain() {
        lastMaintenance = ContinuousClock.now
        synchronizeLazyWrites(waiting: false)
        seenJournal.maintain(now: clock() / 1000)
        let retention = configuration.archiveRetention
        let now = clock()
        let retentionMillis =
            retention.components.seconds * 1000 + retention.components.attoseconds / 1_000_000_000_000_000
        let expired = shared.mutex.withLock { index in
            index.segments.values.filter { segment in
                !segment.isActive && segment.unsettled == 0 && segment.newestSettledAt + retentionMillis <= now
            }.map(\.number)
        }
        for number in expired.sorted() { deleteSegment(number) }
    }

    /// Makes lazily written data durable. In the background (maintenance), the fsync of a busy
    /// archive, which can take a while, does not hold up durable appends waiting for the writer;
    /// `waiting` (flush, stop) returns only once it is done.
    private func synchronizeLazyWrites(waiting: Bool = true) {
        let dirty = lazyLogs.compactMap { files[$0]?.log } + dirtyStates.compactMap { files[$0]?.state }
        lazyLogs.removeAll()
        dirtyStates.removeAll()
        seenJournal.maintain(now: clock() / 1000)
        guard !dirty.isEmpty else { return }
        let timer = fsyncTimer
        let work: @Sendable () -> Void = {
            for file in dirty {
                let started = ContinuousClock.now
                try? file.synchronize()
                timer.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            }
        }
        if waiting {
            work()
        } else {
            backgroundSync.async(execute: work)
        }
    }
}

/// Wakes the retrier when there may be new work.
final class RetrierSignal: Sendable {
    private let state = Mutex<(signalled: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>(
        (false, [:], 0)
    )

    func signal() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            if state.waiters.isEmpty { state.signalled = true }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at the next signal (or at once if one came since the last wait), or after `timeout`.
    func wait(timeout: Duration) async {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt64? in
                if state.signalled {
                    state.signalled = false
                    return nil
                }
                state.next += 1
                state.waiters[state.next] = continuation
                return state.next
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.expire(id)
            }
        }
    }

    private func expire(_ id: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
