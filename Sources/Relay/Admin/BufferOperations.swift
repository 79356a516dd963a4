import Foundation
import Logging
import Metrics
import RelayKafka
import RetryBuffer

/// What an operator can do with a buffer: status, listings, single records, checks and replays.
/// The admin API serves these from the running relay; the CLI with `--path` runs them directly on
/// a stopped relay's buffer. Both produce the same ``AdminAPI`` documents.
public struct BufferOperations: Sendable {
    public let buffer: RetryBuffer
    private let producer: KafkaProducer?
    private let clock: any WallClock
    private let metrics: RelayMetrics
    private let logger: Logger

    /// - Parameter producer: needed for replays; without one, a replay fails with a clear message.
    public init(
        buffer: RetryBuffer,
        producer: KafkaProducer?,
        clock: any WallClock = SystemWallClock(),
        metrics: RelayMetrics = RelayMetrics(factory: MetricsSystem.factory),
        logger: Logger
    ) {
        self.buffer = buffer
        self.producer = producer
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
        let nowMillis = Int64(clock.now().timeIntervalSince1970 * 1000)
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

    /// One page of matching records, oldest first.
    public func records(
        filter: RecordFilter,
        after: UInt64?,
        limit: Int,
        includeBody: Bool
    ) throws(BufferError) -> AdminAPI.RecordPage {
        let page = try buffer.records(after: after.map(RecordID.init(rawValue:)), limit: limit, where: filter.matches)
        return AdminAPI.RecordPage(
            records: page.map { Self.document($0, includeBody: includeBody) },
            next: page.count == limit ? page.last?.id.rawValue : nil
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

    /// Replays matching records (or counts them, for a dry run).
    public func replay(
        _ request: AdminAPI.ReplayRequest,
        progress: @Sendable (_ handled: Int, _ of: Int) -> Void = { _, _ in }
    ) async throws -> AdminAPI.ReplayResult {
        let matched = try buffer.records(
            after: request.after.map(RecordID.init(rawValue:)),
            limit: request.limit ?? .max,
            where: request.filter.matches
        )
        if request.dryRun {
            return AdminAPI.ReplayResult(matched: matched.count, last: matched.last?.id.rawValue)
        }
        guard let producer else { throw ReplayUnavailable() }
        let replayer = Replayer(buffer: buffer, producer: producer, metrics: metrics, logger: logger)
        let total = matched.count
        let outcome = await replayer.replay(matched, topic: request.topic) { progress($0, total) }
        return AdminAPI.ReplayResult(
            matched: total,
            replayed: outcome.replayed,
            failed: outcome.failed,
            skipped: outcome.skipped,
            last: matched.last?.id.rawValue
        )
    }

    static func document(_ stored: StoredRecord, includeBody: Bool) -> AdminAPI.Record {
        let record = stored.record
        return AdminAPI.Record(
            id: stored.id.rawValue,
            state: stored.state == .delivered ? "archived" : stored.state.description,
            source: record.source,
            requestID: record.deliveryID,
            eventType: record.eventType,
            topic: record.topic,
            key: record.key.map { String(decoding: $0, as: UTF8.self) },
            receivedAt: RFC3339.format(unixMilliseconds: record.receivedAt),
            attempts: record.attempts,
            reason: stored.reason.isEmpty ? nil : stored.reason,
            size: record.value.count,
            headers: includeBody
                ? record.headers.map {
                    AdminAPI.Header(name: $0.name, value: $0.value.map { String(decoding: $0, as: UTF8.self) })
                } : nil,
            body: includeBody ? String(decoding: record.value, as: UTF8.self) : nil
        )
    }

    static func document(_ report: BufferCheckReport) -> AdminAPI.CheckReport {
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
