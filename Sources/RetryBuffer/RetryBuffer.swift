import Foundation
import Logging
import Metrics
import RelayPrimitives

/// A disk-backed, append-only, segmented log of events that Kafka has not acknowledged yet (and,
/// optionally, an archive of those it has).
///
/// Guarantees:
/// - ``append(_:inFlight:)`` returns only after an `fsync` covering the record; concurrent appends
///   share one `fsync` (group commit).
/// - After a crash, every record whose append returned is found again; a torn last frame is cut
///   off, a damaged frame in the middle is skipped and reported (never a crash loop).
/// - A segment is deleted only when every record in it is settled (and past the archive retention),
///   by an atomic rename first, so a crash mid-delete never resurrects or half-deletes it.
/// - State changes (delivered, dead) and archive copies are written without waiting for `fsync`:
///   losing one in a crash can only make a record be published again, never lost.
/// - One process at a time: the directory is locked.
public final class RetryBuffer: Sendable {
    public let directory: String
    public let configuration: BufferConfiguration
    /// Deliveries accepted before the last stop whose dedup window has not ended.
    public let recoveredSeenDeliveries: [SeenDelivery]
    let shared: SharedIndex
    let fileSystemForReading: any BufferFileSystem
    /// Where paged listings stopped (``forEachRecord(after:bodies:_:)``).
    let resumePoints = Locked(ResumePoints())
    private let writer: SegmentWriter
    private let directoryLock: any BufferLock
    private let clock: @Sendable () -> Int64

    /// Opens (creating if needed) and recovers the buffer in `directory`.
    /// - Parameters:
    ///   - clock: the current time in Unix milliseconds.
    ///   - readOnly: open it only to look (the tools' `status`, `inspect`, `export`): nothing in the
    ///     directory is created, changed or deleted, not even the lock file; recovery's repairs and
    ///     the archive's expiry happen in memory only; a running relay's lock is respected.
    public static func open(
        directory: String,
        configuration: BufferConfiguration = BufferConfiguration(),
        fileSystem baseFileSystem: any BufferFileSystem = POSIXFileSystem(),
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Date().unixMilliseconds },
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        readOnly: Bool = false
    ) throws(BufferError) -> RetryBuffer {
        var configuration = configuration
        let fileSystem: any BufferFileSystem
        if readOnly {
            fileSystem = ReadOnlyFileSystem(base: baseFileSystem)
            // No maintenance: looking at an archive never expires any of it.
            configuration.maintenanceInterval = .seconds(100 * 365 * 86_400)
            guard fileSystem.fileExists(directory) else {
                throw .io(FileIOError("open", path: directory, code: ENOENT))
            }
        } else {
            fileSystem = baseFileSystem
            do {
                try fileSystem.createDirectory(directory)
                try fileSystem.secure(directory: directory)
            } catch {
                throw .io(error)
            }
        }
        let lockPath = directory + "/" + SegmentFiles.lockName
        let lock: any BufferLock
        do {
            lock = try fileSystem.lock(lockPath)
        } catch {
            throw .locked(path: directory, holder: lockHolder(directory: directory, fileSystem: fileSystem))
        }
        do {
            let recovery = BufferRecovery(
                directory: directory,
                fileSystem: fileSystem,
                logger: logger,
                metricsFactory: metricsFactory
            )
            let recovered = try recovery.run()
            let seen = SeenJournal.load(
                bufferDirectory: directory,
                fileSystem: fileSystem,
                now: clock() / 1000,
                logger: logger
            )
            let shared = SharedIndex(recovered.index)
            let writer = SegmentWriter(
                directory: directory,
                configuration: configuration,
                fileSystem: fileSystem,
                shared: shared,
                stateFiles: recovered.stateFiles,
                logger: logger,
                clock: clock,
                metricsFactory: metricsFactory
            )
            writer.start()
            let statistics = shared.mutex.withLock { $0.statistics() }
            logger.info(
                "Retry buffer opened",
                metadata: [
                    "buffer.path": "\(directory)",
                    "buffer.pending": "\(statistics.pendingCount)",
                    "buffer.dead": "\(statistics.deadCount)",
                    "buffer.archived": "\(statistics.archivedCount)",
                    "buffer.segments": "\(statistics.segmentCount)",
                    "buffer.corrupt_ranges": "\(statistics.corruptRanges)",
                ]
            )
            return RetryBuffer(
                directory: directory,
                configuration: configuration,
                fileSystem: fileSystem,
                shared: shared,
                writer: writer,
                lock: lock,
                clock: clock,
                seen: seen
            )
        } catch {
            lock.release()
            throw error
        }
    }

    private init(
        directory: String,
        configuration: BufferConfiguration,
        fileSystem: any BufferFileSystem,
        shared: SharedIndex,
        writer: SegmentWriter,
        lock: any BufferLock,
        clock: @escaping @Sendable () -> Int64,
        seen: [SeenDelivery]
    ) {
        self.recoveredSeenDeliveries = seen
        self.directory = directory
        self.configuration = configuration
        self.fileSystemForReading = fileSystem
        self.shared = shared
        self.writer = writer
        self.directoryLock = lock
        self.clock = clock
    }

    // MARK: Writing

    /// Appends a pending record and returns once it is durable (fsynced).
    /// - Parameter inFlight: the caller still has a copy in flight to Kafka; the record is not handed
    ///   to whoever drains the buffer until ``markDelivered(_:)`` or ``releaseInFlight(_:attempts:)``.
    ///   - valueChecksum: the CRC-32C of `record.value` if the caller has it, so that a large value
    ///     is not read again for its frame's checksum.
    public func append(
        _ record: BufferRecord,
        inFlight: Bool = false,
        valueChecksum: UInt32? = nil
    ) async throws(BufferError) -> RecordID {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<RecordID, BufferError>, Never>) in
            enqueueAppend(record, state: .pending, durable: true, inFlight: inFlight, valueChecksum: valueChecksum) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    /// Keeps a copy of a record Kafka already acknowledged, for replay within the archive retention.
    /// Does not wait for the disk (a full buffer or a failed write only costs the archive copy),
    /// except while 32 MiB of copies already wait for it: then it waits for room, so that copies
    /// arriving faster than the disk takes them slow their requests down instead of filling memory.
    /// - Parameter valueChecksum: as for ``append(_:inFlight:valueChecksum:)``.
    public func archive(_ record: BufferRecord, valueChecksum: UInt32? = nil) async {
        guard configuration.archives else { return }
        if writer.isArchiveBacklogFull { await writer.waitForArchiveRoom() }
        enqueueAppend(
            record,
            state: .delivered,
            durable: false,
            inFlight: false,
            valueChecksum: valueChecksum,
            completion: nil
        )
    }

    private func enqueueAppend(
        _ record: BufferRecord,
        state: RecordState,
        durable: Bool,
        inFlight: Bool,
        valueChecksum: UInt32?,
        completion: (@Sendable (Result<RecordID, BufferError>) -> Void)?
    ) {
        guard shared.mutex.withLock({ !$0.closed }) else {
            completion?(.failure(.closed))
            return
        }
        assert(valueChecksum.map { $0 == CRC32C.checksum(record.value) } ?? true, "a wrong value checksum")
        // The writer numbers records as it writes them (see `SegmentWriter.number`); the frame is
        // encoded here, off the writer thread, with a placeholder id and header.
        let frame = BufferCodec.encodeRecordFrame(record, state: state)
        let entry = BufferIndex.Entry(
            id: RecordID(rawValue: 0),
            segment: 0,
            offset: 0,
            frameLength: frame.count,
            state: state,
            attempts: record.attempts,
            receivedAt: record.receivedAt,
            orderingKey: record.orderingKey,
            inFlight: inFlight
        )
        let append = SegmentWriter.Append(
            entry: entry,
            frame: consume frame,
            knownTail: valueChecksum.map { RecordFrame.KnownTail(count: record.value.count, checksum: $0) },
            durable: durable,
            completion: completion
        )
        // Handed over, not shared: the writer numbers the frame in place only if it holds the
        // frame alone (see `SegmentWriter.number`).
        writer.submit(.append(consume append))
    }

    /// Remembers an accepted delivery across restarts (written without waiting for the disk).
    public func rememberSeen(_ delivery: SeenDelivery) {
        writer.submit(.seen(delivery))
    }

    /// Kafka acknowledged the record: it is settled (kept as archive, or deleted with its segment).
    /// - Parameter attempts: the attempt that reached Kafka, when known.
    public func markDelivered(_ id: RecordID, attempts: UInt32? = nil) {
        transition(id, to: .delivered, attempts: attempts, reason: "")
    }

    /// Kafka refused the record permanently and the dead-letter topic took it.
    public func markDeadLettered(_ id: RecordID, reason: String) {
        transition(id, to: .deadLettered, attempts: nil, reason: reason)
    }

    /// Kafka refused the record permanently and so did the dead-letter topic: it stays for replay.
    public func markDead(_ id: RecordID, reason: String, attempts: UInt32) {
        transition(id, to: .dead, attempts: attempts, reason: reason)
    }

    /// Makes a dead record pending again (for the model tests; replays publish dead records directly).
    package func revive(_ id: RecordID) {
        transition(id, to: .pending, attempts: nil, reason: "")
    }

    /// The copy in flight failed (or a drain attempt did): the record is pending again and
    /// may be claimed again.
    public func releaseInFlight(_ id: RecordID, attempts: UInt32? = nil) {
        let changed = shared.mutex.withLock { index -> BufferIndex.Entry? in
            let before = index.entries[id]?.attempts
            guard let entry = index.release(id, attempts: attempts) else { return nil }
            return entry.attempts != before ? entry : nil
        }
        if let entry = changed {
            // Persisting the attempt count lets `buffer inspect` show it after a restart.
            let change = BufferCodec.StateChange(
                id: id,
                state: entry.state,
                attempts: entry.attempts,
                reason: entry.reason
            )
            writer.submit(.state(segment: entry.segment, frame: RecordFrame.encode(BufferCodec.encodeState(change))))
        }
        writer.signalWork()
    }

    private func transition(_ id: RecordID, to state: RecordState, attempts: UInt32?, reason: String) {
        let now = clock()
        let entry = shared.mutex.withLock { $0.transition(id, to: state, attempts: attempts, reason: reason, at: now) }
        guard let entry else { return }
        let change = BufferCodec.StateChange(id: id, state: state, attempts: entry.attempts, reason: reason)
        writer.submit(.state(segment: entry.segment, frame: RecordFrame.encode(BufferCodec.encodeState(change))))
        // Any change may unblock the next record of the same key.
        writer.signalWork()
    }

    // MARK: Reading

    /// Pending records that may be published now, marked in flight: the oldest first, at most one
    /// per key, none already in flight.
    public func claimPending(limit: Int) -> [PendingRecord] {
        shared.mutex.withLock { $0.claim(limit: limit) }.map {
            PendingRecord(id: $0.id, attempts: $0.attempts, receivedAt: $0.receivedAt)
        }
    }

    /// Marks one pending or dead record in flight for a replay; `nil` if it is settled, unknown or
    /// already in flight (claimed by someone else).
    public func claim(_ id: RecordID) -> PendingRecord? {
        shared.mutex.withLock { $0.claim(id) }.map {
            PendingRecord(id: $0.id, attempts: $0.attempts, receivedAt: $0.receivedAt)
        }
    }

    /// Whether records with this ordering key are waiting, so a new one must queue behind them.
    public func hasPending(orderingKey: UInt64) -> Bool {
        shared.mutex.withLock { $0.keyQueues[orderingKey] != nil }
    }

    /// Reads a pending or dead record back from disk.
    public func read(_ id: RecordID) throws(BufferError) -> BufferRecord {
        let location = shared.mutex.withLock { index -> (any BufferFile, Int, Int)? in
            guard let entry = index.entries[id], let segment = index.segments[entry.segment] else { return nil }
            return (segment.log, entry.offset, entry.frameLength)
        }
        guard let (file, offset, length) = location else { throw .notFound(id) }
        let bytes: [UInt8]
        do {
            bytes = try file.read(at: offset, count: length)
        } catch {
            throw .io(error)
        }
        guard case .frame(let payload, _) = RecordFrame.scan(bytes, at: 0),
            let (_, _, record, _) = try? BufferCodec.decodeRecord(Array(bytes[payload]))
        else { throw .corrupt(id) }
        return record
    }

    /// Counts and sizes by state.
    public var statistics: BufferStatistics { shared.mutex.withLock { $0.statistics() } }

    /// Waits until new pending records may be claimable (an append, a release, a state change) or
    /// `timeout` passes.
    public func waitForPendingWork(timeout: Duration) async {
        await writer.waitForWork(timeout: timeout)
    }

    /// Makes everything written so far durable (archive copies and state changes included); for tests.
    package func flush() async {
        await withCheckedContinuation { continuation in
            writer.submit(.flush { continuation.resume() })
        }
    }

    /// Flushes, stops the writer thread and releases the directory lock. Appends after this fail.
    public func close() async {
        shared.mutex.withLock { $0.closed = true }
        await withCheckedContinuation { continuation in
            writer.stop { continuation.resume() }
        }
        directoryLock.release()
    }
}

/// A pending record claimed for publishing.
public struct PendingRecord: Sendable, Hashable {
    public var id: RecordID
    public var attempts: UInt32
    public var receivedAt: Int64
}

/// The index behind its mutex, shared by the facade and the writer thread.
final class SharedIndex: Sendable {
    let mutex: Locked<BufferIndex>

    init(_ index: BufferIndex) {
        mutex = Locked(index)
    }
}
