import Foundation
import Logging
import Metrics
import RelayPrimitives

/// Periodic upkeep: lazy writes made durable, the seen journal, archive retention.
extension SegmentWriter {

    func maintain() {
        lastMaintenance = ContinuousClock.now
        synchronizeLazyWrites(waiting: false)
        seenJournal.maintain(now: clock() / 1000)
        let retention = configuration.archiveRetention
        let now = clock()
        let retentionMillis = retention.milliseconds
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
    func synchronizeLazyWrites(waiting: Bool = true) {
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
