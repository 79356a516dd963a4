/// Limits and timings of the retry buffer.
public struct BufferConfiguration: Sendable, Hashable {
    /// The most bytes the buffer may hold on disk (segments and their state files). When an append
    /// would exceed it, archived records are evicted first; if that is not enough the append fails.
    public var maximumSize: Int
    /// A segment file is closed and a new one started when it would grow past this size.
    public var segmentSize: Int
    /// How long delivered records stay replayable; zero turns the archive off.
    public var archiveRetention: Duration
    /// How often lazily written data (archive copies, state changes) is made durable and settled
    /// segments are deleted.
    public var maintenanceInterval: Duration

    public init(
        maximumSize: Int = 1 << 30,
        segmentSize: Int = 64 << 20,
        archiveRetention: Duration = .seconds(24 * 3600),
        maintenanceInterval: Duration = .seconds(1)
    ) {
        self.maximumSize = maximumSize
        self.segmentSize = segmentSize
        self.archiveRetention = archiveRetention
        self.maintenanceInterval = maintenanceInterval
    }

    /// Whether delivered records are kept for replay.
    public var archives: Bool { archiveRetention > .zero }
}

/// Why the buffer could not take or find a record.
public enum BufferError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Appending would exceed the configured maximum size even after evicting the archive.
    case full(maximumSize: Int)
    /// The disk refused the write (no space, I/O error); nothing was stored.
    case io(FileIOError)
    /// Another process holds the buffer directory.
    case locked(path: String, holder: String?)
    /// The buffer was closed.
    case closed
    /// No record with this id (it was deleted, or never existed).
    case notFound(RecordID)
    /// The record's bytes on disk no longer match their checksum.
    case corrupt(RecordID)

    public var description: String {
        switch self {
        case .full(let maximumSize): "the buffer is full (\(maximumSize) bytes)"
        case .io(let error): "buffer I/O failed: \(error)"
        case .locked(let path, let holder):
            "the buffer directory \(path) is in use by another relay" + (holder.map { " (pid \($0))" } ?? "")
        case .closed: "the buffer is closed"
        case .notFound(let id): "no buffered record \(id)"
        case .corrupt(let id): "buffered record \(id) is damaged on disk"
        }
    }
}

/// Counts and sizes of the buffer's contents.
public struct BufferStatistics: Sendable, Hashable {
    public var pendingCount = 0
    public var pendingBytes = 0
    public var deadCount = 0
    public var deadBytes = 0
    /// Delivered and dead-lettered records kept for the archive retention.
    public var archivedCount = 0
    public var archivedBytes = 0
    /// Records currently being published (by whoever drains the buffer, or a request still waiting on Kafka).
    public var inFlightCount = 0
    /// When the oldest pending record was received (Unix milliseconds).
    public var oldestPendingReceivedAt: Int64?
    public var segmentCount = 0
    /// Bytes on disk, all files included.
    public var totalBytes = 0
    /// Damaged ranges found by recovery since the buffer was opened.
    public var corruptRanges = 0
    /// When an append last failed on the disk (no space, I/O error), in Unix milliseconds.
    public var lastWriteFailureAt: Int64?

    public init() {}
}
