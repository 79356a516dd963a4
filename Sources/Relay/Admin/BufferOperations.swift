import Foundation
import Logging
import Metrics
import RelayKafka
import RelayPrimitives
import RetryBuffer

/// What an operator can do with a buffer: status, listings, single records, checks and replays.
/// The admin API serves these from the running relay; the CLI with `--path` runs them directly on
/// a stopped relay's buffer. Both produce the same ``AdminAPI`` documents.
package struct BufferOperations: Sendable {
    public let buffer: RetryBuffer
    private let publisher: (any EventPublisher)?
    private let clock: any WallClock
    private let metrics: RelayMetrics
    private let logger: Logger

    /// - Parameter publisher: needed for replays; without one, a replay fails with a clear message.
    public init(
        buffer: RetryBuffer,
        publisher: (any EventPublisher)?,
        clock: any WallClock = SystemWallClock(),
        metrics: RelayMetrics = RelayMetrics(factory: MetricsSystem.factory),
        logger: Logger
    ) {
        self.buffer = buffer
        self.publisher = publisher
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// Why a replay could not run.
    public struct ReplayUnavailable: Error, CustomStringConvertible {
        public var description: String {
            "replaying needs Kafka: set RELAY_KAFKA_BOOTSTRAP_SERVERS (or kafka.bootstrap_servers)"
        }
    }

    public func status() -> AdminAPI.Status {
        let statistics = buffer.statistics
        let nowMillis = clock.unixMilliseconds
        return AdminAPI.Status(
            pending: statistics.pendingCount,
            dead: statistics.deadCount,
            archived: statistics.archivedCount,
            inFlight: statistics.inFlightCount,
            pendingBytes: statistics.pendingBytes,
            deadBytes: statistics.deadBytes,
            archivedBytes: statistics.archivedBytes,
            totalBytes: statistics.totalBytes,
            segments: statistics.segmentCount,
            oldestPendingAgeSeconds: statistics.oldestPendingReceivedAt.map { max(0, Double(nowMillis - $0) / 1000) },
            corruptRanges: statistics.corruptRanges,
            path: buffer.directory
        )
    }

    /// The most body bytes one listing page or one replay batch holds: a page of 10,000 records of
    /// 5 MiB would otherwise be 50 GB.
    static let batchBytes = 16 << 20

    /// One page of matching records, oldest first. Bodies are read from disk only with
    /// `includeBody`; a page with bodies ends early once they reach ``batchBytes`` (its `next`
    /// cursor says where the following page starts).
    public func records(
        filter: RecordFilter,
        after: UInt64?,
        limit: Int,
        includeBody: Bool
    ) throws(BufferError) -> AdminAPI.RecordPage {
        let page = try buffer.records(
            after: after.map(RecordID.init(rawValue:)),
            limit: limit,
            maxBytes: Self.batchBytes,
            bodies: includeBody,
            where: filter.matches
        )
        let full = page.count == limit || page.reduce(0) { $0 + $1.record.value.count } >= Self.batchBytes
        return AdminAPI.RecordPage(
            records: page.map { Self.document($0, includeBody: includeBody) },
            next: full ? page.last?.id.rawValue : nil
        )
    }

    /// One record with its headers and body.
    public func record(id: UInt64) throws(BufferError) -> AdminAPI.Record {
        Self.document(try buffer.storedRecord(RecordID(rawValue: id)), includeBody: true)
    }

    /// Verifies every frame's checksum, read-only.
    public func check() throws(BufferError) -> AdminAPI.CheckReport {
        Self.document(try buffer.check())
    }

    /// How many records match `filter` (after `after`, at most `limit`), and the last one's id.
    ///
    /// A filter that names at most a state is answered from the index's counts, whatever the
    /// buffer holds; any other reads the records' metadata in file order, never their bodies.
    public func count(
        _ filter: RecordFilter,
        after: UInt64? = nil,
        limit: Int? = nil
    ) throws(BufferError) -> (matched: Int, last: UInt64?) {
        if after == nil, limit == nil, filter.namesAtMostAState {
            let statistics = buffer.statistics
            switch filter.state {
            case .pending?: return (statistics.pendingCount, nil)
            case .dead?: return (statistics.deadCount, nil)
            case .archived?: return (statistics.archivedCount, nil)
            case nil: return (statistics.pendingCount + statistics.deadCount + statistics.archivedCount, nil)
            }
        }
        var matched = 0
        var last: UInt64?
        let limit = limit ?? .max
        try buffer.forEachRecord(after: after.map(RecordID.init(rawValue:)), bodies: false) { stored in
            if filter.matches(stored) {
                matched += 1
                last = stored.id.rawValue
            }
            return matched < limit
        }
        return (matched, last)
    }

    /// Records read and replayed at once: bounded in count and in bytes (``batchBytes``), so a
    /// replay of a full archive holds a batch, not the archive.
    static let replayBatch = 512

    /// Replays matching records (or counts them, for a dry run), in batches of ``replayBatch`` read
    /// from disk as the replay goes. Records appended after it started are left alone.
    public func replay(
        _ request: AdminAPI.ReplayRequest,
        progress: @Sendable (_ handled: Int, _ of: Int) -> Void = { _, _ in }
    ) async throws -> AdminAPI.ReplayResult {
        if request.dryRun {
            let counted = try count(request.filter, after: request.after, limit: request.limit)
            return AdminAPI.ReplayResult(matched: counted.matched, last: counted.last)
        }
        guard let publisher else { throw ReplayUnavailable() }
        // A whole replay counts first, for its progress; a page of one is its limit at most.
        let total =
            request.after == nil && request.limit == nil
            ? try count(request.filter).matched : (request.limit ?? 0)
        let replayer = Replayer(buffer: buffer, publisher: publisher, clock: clock, metrics: metrics, logger: logger)
        let end = buffer.nextRecordID
        let limit = request.limit ?? .max
        var cursor = request.after.map(RecordID.init(rawValue:))
        var result = AdminAPI.ReplayResult(matched: 0)
        var outcomes = Replayer.Outcome()
        while result.matched < limit {
            let batch = try buffer.records(
                after: cursor,
                limit: min(Self.replayBatch, limit - result.matched),
                maxBytes: Self.batchBytes,
                where: { $0.id < end && request.filter.matches($0) }
            )
            guard let last = batch.last else { break }
            let handled = result.matched
            let outcome = await replayer.replay(batch, topic: request.topic) {
                progress(handled + $0, max(total, handled + $0))
            }
            result.matched += batch.count
            outcomes.replayed += outcome.replayed
            outcomes.failed += outcome.failed
            outcomes.skipped += outcome.skipped
            result.last = last.id.rawValue
            cursor = last.id
            let cutByBytes = batch.reduce(0) { $0 + $1.record.value.count } >= Self.batchBytes
            if !cutByBytes, batch.count < min(Self.replayBatch, limit - handled) { break }
            if last.id.rawValue + 1 >= end.rawValue { break }
        }
        replayer.finished(matched: result.matched, outcomes)
        (result.replayed, result.failed, result.skipped) = (outcomes.replayed, outcomes.failed, outcomes.skipped)
        return result
    }

    package static func document(_ stored: StoredRecord, includeBody: Bool) -> AdminAPI.Record {
        let record = stored.record
        return AdminAPI.Record(
            id: stored.id.rawValue,
            state: stored.state == .delivered ? "archived" : stored.state.description,
            source: record.source,
            deliveryID: record.deliveryID,
            eventType: record.eventType,
            topic: record.topic,
            key: record.key.map { String(decoding: $0, as: UTF8.self) },
            receivedAt: RFC3339.format(unixMilliseconds: record.receivedAt),
            attempts: record.attempts,
            reason: stored.reason.isEmpty ? nil : stored.reason,
            size: stored.size,
            headers: includeBody
                ? record.headers.map {
                    AdminAPI.Header(name: $0.name, value: $0.value.map { String(decoding: $0, as: UTF8.self) })
                } : nil,
            body: includeBody ? String(decoding: record.value, as: UTF8.self) : nil
        )
    }

    package static func document(_ report: BufferCheckReport) -> AdminAPI.CheckReport {
        AdminAPI.CheckReport(
            clean: report.isClean,
            segments: report.segments,
            records: report.records,
            stateEntries: report.stateEntries,
            damage: report.damage.map {
                .init(file: $0.file, offset: $0.offset, length: $0.length, kind: $0.kind.rawValue)
            },
            quarantined: report.quarantined
        )
    }
}
