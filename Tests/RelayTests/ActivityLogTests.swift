import Foundation
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import Testing

@testable import Relay

/// The console's recent past: 10-second buckets over 15 minutes, latency quantiles of those
/// minutes, and a bounded list of accepted deliveries, newest first.
@Suite("Activity log")
struct ActivityLogTests {
    static func accepted(
        _ id: String,
        _ status: WebhookPipeline.Acceptance.Status,
        at clock: ManualWallClock
    ) -> ActivityLog.Event {
        WebhookPipeline.Acceptance(
            deliveryID: id,
            eventType: "CONVERSION_COMPLETED",
            eventLabel: "CONVERSION_COMPLETED",
            status: status,
            topic: "docutray.conversion.completed",
            ack: status == .published ? KafkaAck(partition: 2, offset: 7) : nil,
            receivedAt: clock.now()
        ).activityEvent(source: "docutray")
    }

    @Test("Requests are counted per source and outcome in the bucket of their time, and leave after 15 minutes")
    func buckets() {
        let clock = ManualWallClock(unixSeconds: 1_700_000_000)
        let log = ActivityLog(clock: clock)
        log.request(source: "github", outcome: "published")
        log.request(source: "github", outcome: "published")
        log.request(source: "github", outcome: "invalid_signature")
        clock.advance(by: 10)
        log.request(source: "stripe", outcome: "buffered")
        var series = log.series()
        #expect(series.bucketSeconds == 10)
        #expect(series.start == 1_700_000_010 - 89 * 10)
        #expect(series.sources["github"]?["published"]?.suffix(2) == [2, 0])
        #expect(series.sources["github"]?["invalid_signature"]?.suffix(2) == [1, 0])
        #expect(series.sources["stripe"]?["buffered"]?.last == 1)
        #expect(series.sources["github"]?["published"]?.count == ActivityLog.bucketCount)
        clock.advance(by: 15 * 60)
        series = log.series()
        #expect(series.sources.isEmpty, "older than 15 minutes: \(series.sources)")
        for _ in 0..<200 {
            clock.advance(by: 10)
            log.request(source: "github", outcome: "published")
        }
        #expect(log.series().sources["github"]?["published"]?.reduce(0, +) == ActivityLog.bucketCount)
    }

    @Test("Publish latency p50 and p99 come from the samples of the last 15 minutes")
    func latency() {
        let clock = ManualWallClock(unixSeconds: 1_700_000_000)
        let log = ActivityLog(clock: clock)
        #expect(log.series().publishP50Milliseconds == nil)
        log.publishLatency(.milliseconds(500))
        clock.advance(by: 16 * 60)
        for milliseconds in 1...100 { log.publishLatency(.milliseconds(milliseconds)) }
        let series = log.series()
        #expect(series.publishSamples == 100, "the old 500 ms sample is out of the window")
        #expect(series.publishP50Milliseconds == 51)
        #expect(series.publishP99Milliseconds == 100)
    }

    @Test("Accepted and replayed deliveries are listed newest first, filtered, and bounded")
    func events() {
        let clock = ManualWallClock(unixSeconds: 1_700_000_000)
        let log = ActivityLog(clock: clock)
        log.record(Self.accepted("req_1", .published, at: clock))
        clock.advance(by: 1)
        log.record(Self.accepted("req_2", .buffered, at: clock))
        let listed = log.events(limit: 10)
        #expect(listed.map(\.id) == ["req_2", "req_1"])
        #expect(listed[1].partition == 2 && listed[1].offset == 7 && listed[1].receivedAt == 1_700_000_000_000)
        #expect(log.events(status: "buffered", limit: 10).map(\.id) == ["req_2"])
        #expect(log.events(source: "github", limit: 10).isEmpty)
        for number in 3...(ActivityLog.eventCapacity + 20) {
            log.record(Self.accepted("req_\(number)", .published, at: clock))
        }
        let all = log.events(limit: 10_000)
        #expect(all.count == ActivityLog.eventCapacity)
        #expect(all.first?.id == "req_\(ActivityLog.eventCapacity + 20)")
        #expect(all.last?.id == "req_21", "the oldest are dropped first")
        #expect(log.events(limit: 3).map(\.id) == (0..<3).map { "req_\(ActivityLog.eventCapacity + 20 - $0)" })
    }
}
