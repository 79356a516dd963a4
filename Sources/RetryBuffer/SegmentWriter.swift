import CSystemShims
import Foundation
import Logging
import Metrics
import RelayPrimitives

/// The buffer's single writer: one thread that performs every write, `fsync`, segment roll and
/// segment deletion, in submission order. Appends that arrive together share one `fsync`.
///
/// `@unchecked Sendable`: the queue is guarded by `condition`; everything else mutable (`files`,
/// `active`, the dirty sets) is touched only by the writer thread, or before it starts.
final class SegmentWriter: @unchecked Sendable {
    struct Append {
        var entry: BufferIndex.Entry
        /// The record's frame; ``SegmentWriter/number(_:)`` gives it its id and seals it.
        var frame: [UInt8]
        /// The checksum of the frame's last bytes (the record's value), when the appender had it.
        var knownTail: RecordFrame.KnownTail?
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

    let directory: String
    let configuration: BufferConfiguration
    let fileSystem: any BufferFileSystem
    let shared: SharedIndex
    let logger: Logger
    let clock: @Sendable () -> Int64
    let fsyncTimer: Timer
    let writeFailures: Counter

    private let condition = NSCondition()
    private var queue: [Operation] = []
    /// Bytes of archive copies in `queue`.
    private var queuedArchiveBytes = 0
    /// Appenders of archive copies waiting for `queuedArchiveBytes` to drop below the limit.
    private var archiveWaiters: [CheckedContinuation<Void, Never>] = []
    private var urgentQueued = false
    private var lazySince: Date?
    private var stopping = false
    private var onStopped: (@Sendable () -> Void)?

    var files: [UInt64: Files]
    var active: Files?
    var lazyLogs = Set<UInt64>()
    var dirtyStates = Set<UInt64>()
    var lastMaintenance = ContinuousClock.now
    private let workSignal = WorkSignal()
    let backgroundSync = DispatchQueue(label: "retry-buffer-lazy-sync")
    let seenJournal: SeenJournal

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

    /// The most bytes of archive copies that may wait for the writer. When copies arrive faster than
    /// the disk takes them (large bodies, a slow disk), the requests that add more wait for room
    /// (``waitForArchiveRoom()``) rather than memory growing without bound.
    static let archiveBacklogLimit = 32 << 20

    // MARK: Submitting (any thread)

    /// Whether ``archiveBacklogLimit`` bytes of archive copies wait for the disk.
    var isArchiveBacklogFull: Bool {
        condition.lock()
        defer { condition.unlock() }
        return queuedArchiveBytes >= Self.archiveBacklogLimit && !stopping
    }

    /// Returns once fewer than ``archiveBacklogLimit`` bytes of archive copies wait for the disk.
    func waitForArchiveRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            guard queuedArchiveBytes >= Self.archiveBacklogLimit, !stopping else {
                condition.unlock()
                continuation.resume()
                return
            }
            archiveWaiters.append(continuation)
            condition.unlock()
        }
    }

    func submit(_ operation: consuming Operation) {
        condition.lock()
        if stopping {
            condition.unlock()
            if case .append(let append) = operation { append.completion?(.failure(.closed)) }
            if case .flush(let done) = operation { done() }
            return
        }
        let isUrgent = operation.isUrgent
        if case .append(let append) = operation, !append.durable { queuedArchiveBytes += append.frame.count }
        // Moved into the queue while the lock is held: once the writer can see it, nothing here
        // holds it any more.
        queue.append(consume operation)
        // Someone waits for a durable append or a flush: wake the writer now. Archive copies, state
        // changes and seen ids wait for the next batch (at most `lazyDelay`), so that a busy relay
        // writes them with one system call per batch instead of one wake-up per request.
        if isUrgent {
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
        let thread = Thread { [self] in
            // The name `top -H` and `perf` show (Foundation's `Thread.name` does not reach Linux).
            relay_name_current_thread("buffer-writer")
            run()
        }
        thread.start()
    }

    func stop(_ done: @escaping @Sendable () -> Void) {
        condition.lock()
        stopping = true
        onStopped = done
        condition.signal()
        let roomWaiters = archiveWaiters
        archiveWaiters.removeAll()
        condition.unlock()
        for waiter in roomWaiters { waiter.resume() }
    }

    /// Wakes whoever waits for new work (``waitForWork(timeout:)``).
    func signalWork() { workSignal.signal() }

    /// Returns when there may be new work to drain, or after `timeout`.
    func waitForWork(timeout: Duration) async { await workSignal.wait(timeout: timeout) }

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
            queuedArchiveBytes = 0
            urgentQueued = false
            lazySince = nil
            let finished = stopping
            let roomWaiters = archiveWaiters
            archiveWaiters.removeAll()
            condition.unlock()
            for waiter in roomWaiters { waiter.resume() }

            process(consume batch)
            if ContinuousClock.now - lastMaintenance >= configuration.maintenanceInterval {
                maintain()
            }
            if finished {
                condition.lock()
                let late = queue
                queue.removeAll()
                condition.unlock()
                process(consume late)
                synchronizeLazyWrites()
                let done = onStopped
                done?()
                workSignal.signal()
                return
            }
        }
    }

    /// Gives a batch's records their ids in the order they will be written, and frames them. Ids
    /// handed out here, on the one writer thread, grow with the position in the log, so a listing
    /// that pages by id (`records(after:)`) neither skips nor repeats a record.
    private func number(_ appends: inout [Append]) {
        guard !appends.isEmpty else { return }
        let first = shared.mutex.withLock { index -> UInt64 in
            defer { index.nextID += UInt64(appends.count) }
            return index.nextID
        }
        for position in appends.indices {
            let id = RecordID(rawValue: first + UInt64(position))
            appends[position].entry.id = id
            let storage = appends[position].frame.withUnsafeBufferPointer { $0.baseAddress }
            BufferCodec.setID(id, inFrame: &appends[position].frame)
            RecordFrame.seal(&appends[position].frame, knownTail: appends[position].knownTail)
            assert(
                appends[position].frame.withUnsafeBufferPointer { $0.baseAddress } == storage,
                "a frame was copied to be numbered: something else still holds it"
            )
        }
    }

    private func process(_ batch: consuming [Operation]) {
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
        // The batch lets go of its copies of the frames, so numbering and sealing write into each
        // frame in place; otherwise every frame (a whole body) would be copied here once more.
        batch = []
        number(&appends)
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
        if addedPending { workSignal.signal() }
    }
}
