import Foundation
import Logging
import RelayKafka
import RelayPrimitives
import RetryBuffer

/// Publishes buffered records again, on an operator's request: dead records after a fix, archived
/// ones after a downstream mistake, pending ones without waiting for the retrier. Replayed events
/// keep their `ce_id` and carry `ce_relayreplay` (when the replay happened).
///
/// Sent to their own topic, pending and dead records become delivered once Kafka acknowledges
/// them; with a topic override a replay is a copy and changes no state.
struct Replayer: Sendable {
    /// Header marking a replayed record; its value is the replay time (RFC 3339).
    static let markerHeader = "ce_relayreplay"

    let buffer: RetryBuffer
    let publisher: any EventPublisher
    /// When replays happen (the `ce_relayreplay` header).
    let clock: any WallClock
    let metrics: RelayMetrics
    let logger: Logger
    /// Records published at once.
    var concurrency = 256

    struct Outcome: Sendable, Hashable {
        var replayed = 0
        var failed = 0
        var skipped = 0
    }

    /// Replays `records`; `progress` is called with the number handled so far after each batch.
    func replay(
        _ records: [StoredRecord],
        topic override: String?,
        progress: @Sendable (Int) -> Void = { _ in }
    ) async -> Outcome {
        var outcome = Outcome()
        let marker = KafkaHeader(
            Self.markerHeader,
            RFC3339.format(unixMilliseconds: clock.unixMilliseconds)
        )
        var handled = 0
        for batch in records.chunked(into: concurrency) {
            let results = await withTaskGroup(of: Bool?.self) { group in
                for stored in batch {
                    group.addTask { await replayOne(stored, topic: override, marker: marker) }
                }
                var results: [Bool?] = []
                for await result in group { results.append(result) }
                return results
            }
            for result in results {
                switch result {
                case true?: outcome.replayed += 1
                case false?: outcome.failed += 1
                case nil: outcome.skipped += 1
                }
            }
            handled += batch.count
            progress(handled)
        }
        return outcome
    }

    /// Logs the result of a whole replay (made of one or more ``replay(_:topic:progress:)`` calls).
    func finished(matched: Int, _ outcome: Outcome) {
        logger.notice(
            "Replay finished",
            metadata: [
                "matched": "\(matched)", "replayed": "\(outcome.replayed)",
                "failed": "\(outcome.failed)", "skipped": "\(outcome.skipped)",
            ]
        )
    }

    /// `true` when Kafka acknowledged, `false` when it did not, `nil` when skipped (in flight).
    private func replayOne(_ stored: StoredRecord, topic override: String?, marker: KafkaHeader) async -> Bool? {
        let changesState = override == nil && !stored.state.isSettled
        if changesState, buffer.claim(stored.id) == nil { return nil }
        let record = stored.record.kafkaRecord(
            attempt: stored.record.attempts + 1,
            topic: override,
            extraHeaders: [marker]
        )
        let result: DeliveryResult?
        do {
            result = try await publisher.send(record).value()
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let ack)?:
            if changesState { buffer.markDelivered(stored.id, attempts: stored.record.attempts + 1) }
            metrics.replayed(
                ActivityLog.Event(
                    id: stored.record.deliveryID,
                    source: stored.record.source,
                    eventType: stored.record.eventType,
                    status: "replayed",
                    topic: record.topic,
                    partition: ack.partition,
                    offset: ack.offset,
                    receivedAt: clock.unixMilliseconds
                )
            )
            return true
        case .failure(let error)?:
            if changesState { buffer.releaseInFlight(stored.id, attempts: stored.record.attempts + 1) }
            logger.warning(
                "Replay of a record failed",
                metadata: [LogKey.deliveryID: "\(stored.record.deliveryID)", LogKey.error: "\(error)"]
            )
            return false
        case nil:
            if changesState { buffer.releaseInFlight(stored.id) }
            return false
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
