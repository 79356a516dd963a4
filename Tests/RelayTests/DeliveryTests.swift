import Foundation
import Logging
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import RetryBuffer
import RetryBufferTestKit
import SenderKit
import Testing

@testable import Relay

/// Every rule of the delivery core, decided against a scripted publisher and a real retry buffer on
/// an in-memory file system: when the request path publishes, buffers or refuses; when a late
/// acknowledgement settles a buffered copy; how the retrier retries, keeps each key's order and
/// dead-letters; what a replay changes.
@Suite("Delivery decisions")
struct DeliveryTests {
    /// A delivery core with a scripted publisher, a buffer in memory and its own metrics.
    final class Core: Sendable {
        let publisher = ScriptedPublisher()
        let fileSystem = InMemoryFileSystem()
        let buffer: RetryBuffer
        let exporter = MetricsExporter()
        let health: BrokerHealth
        let delivery: EventDelivery
        let logger = Logger(label: "test.delivery") { _ in SwiftLogNoOpLogHandler() }

        init(archive: Bool = true) throws {
            buffer = try RetryBuffer.open(
                directory: "/buffer",
                configuration: BufferConfiguration(
                    archiveRetention: archive ? .seconds(3600) : .zero,
                    maintenanceInterval: .milliseconds(20)
                ),
                fileSystem: fileSystem,
                logger: logger
            )
            // Kafka stays "known down" after a failure for an hour, not 5 s: a test's steps may be
            // seconds apart on a busy machine (`brokerHealthForgets` checks the forgetting).
            health = BrokerHealth(publisher: publisher, memory: .seconds(3600))
            delivery = EventDelivery(
                publisher: publisher,
                buffer: buffer,
                health: health,
                publishTimeout: .seconds(60),
                metrics: exporter.metrics,
                logger: logger
            )
        }

        func retrier(initialBackoff: Duration = .milliseconds(5)) -> Retrier {
            Retrier(
                buffer: buffer,
                publisher: publisher,
                health: health,
                configuration: Retrier.Configuration(
                    maximumInFlight: 8,
                    initialBackoff: initialBackoff,
                    maximumBackoff: initialBackoff * 4,
                    deadLetterTopics: ["shop": "shop.letters"]
                ),
                metrics: exporter.metrics,
                logger: logger
            )
        }

        /// Runs the retrier while `body` runs.
        func withRetrier(_ retrier: Retrier? = nil, _ body: () async throws -> Void) async throws {
            let retrier = retrier ?? self.retrier()
            let running = Task { await retrier.run() }
            defer { running.cancel() }
            try await body()
        }

        /// The value of one series of a counter, 0 when it was never counted.
        func counter(_ name: String, _ labels: [String: String] = [:]) -> Double {
            let text = String(decoding: exporter.exposition(), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
                guard labels.allSatisfy({ line.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
                return Double(line.split(separator: " ").last ?? "") ?? 0
            }
            return 0
        }

        var statistics: BufferStatistics { buffer.statistics }

        /// Delivers `id` while librdkafka reports every broker down, so it is buffered unsent; then
        /// Kafka is reachable again. The record's buffer id, or `nil` (an issue recorded) if it was not
        /// buffered.
        @discardableResult
        func bufferWhileDown(_ id: String, key: String? = nil) async -> RecordID? {
            publisher.connectivity = .unreachable(reason: "down")
            defer { publisher.connectivity = .reachable }
            let (record, event) = DeliveryTests.event(id, key: key)
            guard case .buffered(let recordID) = await delivery.deliver(record, of: event) else {
                Issue.record("\(id) was not buffered")
                return nil
            }
            return recordID
        }

        func close() async { await buffer.close() }
    }

    static func event(_ id: String, key: String? = nil) -> (KafkaRecord, RelayEvent) {
        let body = Array(#"{"id":"\#(id)"}"#.utf8)
        let webhook = VerifiedWebhook(
            eventType: "orders/create",
            deliveryID: id,
            signedAt: nil,
            checks: ["body-signature"],
            forwardedHeaders: []
        )
        let descriptor = EventDescriptor(
            eventType: "orders/create",
            family: "orders",
            action: "create",
            topicName: "orders.create",
            cloudEventType: "com.shop.orders.create",
            keyField: nil,
            isKnown: true
        )
        let event = RelayEvent(
            source: "shop",
            webhook: webhook,
            descriptor: descriptor,
            subject: key,
            body: body,
            receivedAt: Date(timeIntervalSince1970: 1_700_000_000)
        )
        let record = KafkaRecord(
            topic: "shop.orders.create",
            key: key.map { Array($0.utf8) },
            value: body,
            headers: [KafkaHeader(CloudEventEnvelope.Attribute.attempt, "1"), KafkaHeader("ce_id", id)]
        )
        return (record, event)
    }

    static let ack = KafkaAck(partition: 1, offset: 42)
    static let transient = KafkaError(code: .requestTimedOut, message: "request timed out")
    static let permanent = KafkaError(code: .messageSizeTooLarge, message: "too large")

    /// Waits (at most 10 s) until `condition` holds.
    /// Waits for `condition`; the minute is a bound on a hang, not a timing assertion (under the
    /// thread sanitizer, beside a hundred other tests on two cores, a retry round can take seconds).
    static func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("never: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: The request path

    @Test("Acknowledged within the publish timeout: published, archived, nothing pending")
    func acknowledged() async throws {
        let core = try Core()
        core.publisher.answer { _ in .success(Self.ack) }
        let (record, event) = Self.event("d1")
        #expect(await core.delivery.deliver(record, of: event) == .published(Self.ack))
        #expect(core.publisher.sent.map(\.record.topic) == ["shop.orders.create"])
        try await Self.eventually("the archived copy") { core.statistics.archivedCount == 1 }
        #expect(core.statistics.pendingCount == 0)
        #expect(core.counter("relay_publish_duration_seconds_count") == 1)
        await core.close()
    }

    @Test("A retriable failure buffers the event and marks Kafka down; the next event skips the wait")
    func retriableFailureMarksKafkaDown() async throws {
        let core = try Core()
        core.publisher.answer { _ in .failure(Self.transient) }
        let (first, firstEvent) = Self.event("d1")
        guard case .buffered = await core.delivery.deliver(first, of: firstEvent) else {
            Issue.record("not buffered")
            return
        }
        #expect(core.health.isKnownDown)
        let (second, secondEvent) = Self.event("d2")
        guard case .buffered = await core.delivery.deliver(second, of: secondEvent) else {
            Issue.record("not buffered")
            return
        }
        #expect(core.publisher.sent.count == 1, "Kafka known down: the second event is not sent")
        #expect(core.statistics.pendingCount == 2)
        #expect(core.counter("relay_publish_total", ["outcome": "buffered", "reason": "publish_failed"]) == 1)
        #expect(core.counter("relay_publish_total", ["outcome": "buffered", "reason": "kafka_down"]) == 1)
        await core.close()
    }

    @Test("A failure keeps Kafka known down for the health's memory; a later success, or time, ends it")
    func brokerHealthForgets() async throws {
        let publisher = ScriptedPublisher()
        let health = BrokerHealth(publisher: publisher, memory: .milliseconds(500))
        #expect(!health.isKnownDown)
        health.recordFailure()
        #expect(health.isKnownDown)
        try await Task.sleep(for: .milliseconds(600))
        #expect(!health.isKnownDown, "a failure older than the memory: probe Kafka again")
        let remembering = BrokerHealth(publisher: publisher, memory: .seconds(3600))
        remembering.recordFailure()
        remembering.recordSuccess()
        #expect(!remembering.isKnownDown, "a success after the failure")
        publisher.connectivity = .unreachable(reason: "all brokers down")
        #expect(remembering.isKnownDown, "librdkafka reports every broker down")
    }

    @Test("A permanent refusal is buffered (the retrier dead-letters it) without marking Kafka down")
    func permanentRefusalIsBuffered() async throws {
        let core = try Core()
        core.publisher.answer { _ in .failure(Self.permanent) }
        let (record, event) = Self.event("d1")
        guard case .buffered = await core.delivery.deliver(record, of: event) else {
            Issue.record("not buffered")
            return
        }
        #expect(!core.health.isKnownDown)
        #expect(core.counter("relay_publish_total", ["outcome": "buffered", "reason": "rejected"]) == 1)
        await core.close()
    }

    @Test("librdkafka reporting every broker down: buffered without a send")
    func unreachableSkipsTheSend() async throws {
        let core = try Core()
        core.publisher.connectivity = .unreachable(reason: "all brokers down")
        let (record, event) = Self.event("d1")
        guard case .buffered = await core.delivery.deliver(record, of: event) else {
            Issue.record("not buffered")
            return
        }
        #expect(core.publisher.sent.isEmpty)
        await core.close()
    }

    @Test("A send refused at once (queue full) is buffered")
    func refusedSendIsBuffered() async throws {
        let core = try Core()
        core.publisher.refuseSends(with: KafkaError(code: .queueFull))
        let (record, event) = Self.event("d1")
        guard case .buffered = await core.delivery.deliver(record, of: event) else {
            Issue.record("not buffered")
            return
        }
        #expect(core.counter("relay_publish_total", ["outcome": "buffered", "reason": "send_refused"]) == 1)
        await core.close()
    }

    @Test("An event whose key has records waiting queues behind them, unsent, to keep the key's order")
    func keyWaitingQueuesBehind() async throws {
        let core = try Core()
        await core.bufferWhileDown("d1", key: "order-7")
        core.publisher.answer { _ in .success(Self.ack) }
        let (second, secondEvent) = Self.event("d2", key: "order-7")
        guard case .buffered = await core.delivery.deliver(second, of: secondEvent) else {
            Issue.record("not buffered")
            return
        }
        let (other, otherEvent) = Self.event("d3", key: "order-8")
        #expect(await core.delivery.deliver(other, of: otherEvent) == .published(Self.ack), "another key goes on")
        #expect(core.publisher.sent.map(\.record.key) == [Array("order-8".utf8)])
        #expect(core.counter("relay_publish_total", ["outcome": "buffered", "reason": "key_waiting"]) == 1)
        await core.close()
    }

    @Test("Publish timeout: buffered while the first copy is in flight; its late ack settles the buffered one")
    func lateAckSettlesTheBufferedCopy() async throws {
        let core = try Core(archive: false)
        let (record, event) = Self.event("d1")
        let delivered = Task { await core.delivery.deliver(record, of: event) }
        try await core.publisher.expireWaits()
        guard case .buffered(let id) = await delivered.value else {
            Issue.record("not buffered")
            return
        }
        #expect(core.statistics.pendingCount == 1 && core.statistics.inFlightCount == 1)
        #expect(core.buffer.claimPending(limit: 10).isEmpty, "the retrier must not send it a second time")
        core.publisher.report(0, .success(Self.ack))
        #expect(core.statistics.pendingCount == 0, "record \(id) settled by the late ack")
        #expect(core.publisher.sent.count == 1, "published once")
        await core.close()
    }

    @Test("Publish timeout, then the first copy fails: the buffered copy is left for the retrier")
    func lateFailureReleasesTheBufferedCopy() async throws {
        let core = try Core()
        let (record, event) = Self.event("d1")
        let delivered = Task { await core.delivery.deliver(record, of: event) }
        try await core.publisher.expireWaits()
        guard case .buffered(let id) = await delivered.value else {
            Issue.record("not buffered")
            return
        }
        core.publisher.report(0, .failure(Self.transient))
        #expect(core.statistics.inFlightCount == 0)
        #expect(core.buffer.claimPending(limit: 10).map(\.id) == [id])
        await core.close()
    }

    @Test("Neither Kafka nor the buffer takes the event: unavailable, so the sender retries")
    func bufferRefusalIsUnavailable() async throws {
        let core = try Core()
        core.publisher.answer { _ in .failure(Self.transient) }
        core.fileSystem.failWrites(with: ENOSPC)
        let (record, event) = Self.event("d1")
        guard case .unavailable(let reason) = await core.delivery.deliver(record, of: event) else {
            Issue.record("not unavailable")
            return
        }
        #expect(reason.contains("publish_failed"))
        #expect(core.counter("relay_publish_total", ["outcome": "unavailable", "reason": "publish_failed"]) == 1)
        core.fileSystem.failWrites(with: nil)
        await core.close()
    }

    // MARK: The retrier

    @Test("The retrier publishes buffered records, retries failures after a backoff, and brings Kafka back")
    func retrierRetriesUntilDelivered() async throws {
        let core = try Core()
        await core.bufferWhileDown("d1")
        core.health.recordFailure()
        let failures = Locked(2)
        core.publisher.answer { _ in
            failures.withLock { left in
                defer { left -= 1 }
                return left > 0 ? .failure(Self.transient) : .success(Self.ack)
            }
        }
        try await core.withRetrier {
            try await Self.eventually("delivered on the third attempt") { core.statistics.pendingCount == 0 }
        }
        let attempts = core.publisher.sent.map { sent in
            sent.record.headers.first { $0.name == CloudEventEnvelope.Attribute.attempt }.map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
        }
        #expect(attempts == ["1", "2", "3"], "each attempt numbered")
        #expect(!core.health.isKnownDown, "a delivery brings Kafka back")
        #expect(core.counter("relay_retries_total", ["outcome": "failed"]) == 2)
        #expect(core.counter("relay_retries_total", ["outcome": "delivered"]) == 1)
        await core.close()
    }

    @Test("The retrier sends one record per key at a time, oldest first")
    func retrierKeepsKeyOrder() async throws {
        let core = try Core()
        for number in 1...3 { await core.bufferWhileDown("d\(number)", key: "order-7") }
        try await core.withRetrier {
            for number in 0..<3 {
                let sent = try await core.publisher.waitForSends(number + 1)
                try await Task.sleep(for: .milliseconds(30))
                #expect(core.publisher.sent.count == number + 1, "the next waits for this one's report")
                #expect(sent[number].record.headers.contains(KafkaHeader("ce_id", "d\(number + 1)")))
                core.publisher.report(number, .success(Self.ack))
            }
            try await Self.eventually("all delivered") { core.statistics.pendingCount == 0 }
        }
        await core.close()
    }

    @Test("A permanent refusal sends the dead letter from inside the refusal's report, with the reason")
    func deadLetterFromTheReport() async throws {
        let core = try Core()
        await core.bufferWhileDown("d1")
        try await core.withRetrier {
            try await core.publisher.waitForSends(1)
            core.publisher.report(0, .failure(Self.permanent))
            let sent = core.publisher.sent
            #expect(sent.count == 2, "sent before the report returned")
            guard sent.count == 2 else { return }
            let letter = sent[1]
            #expect(letter.fromReport)
            #expect(letter.record.topic == "shop.letters", "the source's configured dead-letter topic")
            #expect(letter.record.value == Self.event("d1").0.value)
            #expect(letter.record.headers.contains(KafkaHeader(Retrier.DeadLetterHeader.reason, "too large")))
            #expect(
                letter.record.headers.contains(
                    KafkaHeader(Retrier.DeadLetterHeader.originalTopic, "shop.orders.create")
                )
            )
            #expect(letter.record.headers.contains(KafkaHeader(Retrier.DeadLetterHeader.attempts, "1")))
            core.publisher.report(1, .success(Self.ack))
            #expect(core.statistics.pendingCount == 0 && core.statistics.deadCount == 0)
        }
        #expect(core.counter("relay_dead_letters_total", ["outcome": "published"]) == 1)
        await core.close()
    }

    @Test("A dead letter refused too keeps the record in the buffer as dead, with both reasons")
    func deadLetterRefusedKeepsItDead() async throws {
        let core = try Core()
        guard let id = await core.bufferWhileDown("d1") else { return }
        core.publisher.answer { _ in .failure(Self.permanent) }
        try await core.withRetrier {
            try await Self.eventually("kept dead") { core.statistics.deadCount == 1 }
        }
        let stored = try core.buffer.storedRecord(id)
        #expect(stored.state == .dead)
        #expect(stored.reason.contains("too large") && stored.reason.contains("shop.letters"))
        #expect(core.counter("relay_dead_letters_total", ["outcome": "kept_dead"]) == 1)
        await core.close()
    }

    @Test("A dead letter that fails for now leaves the record pending, to be refused and lettered again")
    func deadLetterFailingForNowRetries() async throws {
        let core = try Core()
        await core.bufferWhileDown("d1")
        // Kafka refuses the record for good each time; the first dead letter fails for now, the
        // second lands. Answered as sent, so no step depends on how fast the retrier runs.
        let letters = Locked(0)
        core.publisher.answer { record in
            guard record.topic == "shop.letters" else { return .failure(Self.permanent) }
            let number = letters.withLock { count in
                count += 1
                return count
            }
            return number == 1 ? .failure(Self.transient) : .success(Self.ack)
        }
        try await core.withRetrier {
            try await Self.eventually("lettered on the second round") { core.statistics.pendingCount == 0 }
        }
        let topics = core.publisher.sent.map(\.record.topic)
        #expect(topics == ["shop.orders.create", "shop.letters", "shop.orders.create", "shop.letters"])
        #expect(core.statistics.deadCount == 0 && core.statistics.inFlightCount == 0)
        await core.close()
    }

    // MARK: Replays

    @Test("A replay publishes a dead record again to its topic and settles it; with another topic it is a copy")
    func replaySettlesOrCopies() async throws {
        let core = try Core()
        guard let id = await core.bufferWhileDown("d1") else { return }
        core.buffer.markDead(id, reason: "test", attempts: 1)
        core.publisher.answer { _ in .success(Self.ack) }
        let replayer = Replayer(
            buffer: core.buffer,
            publisher: core.publisher,
            clock: ManualWallClock(unixSeconds: 1_700_000_100),
            metrics: core.exporter.metrics,
            logger: core.logger
        )
        let copy = await replayer.replay([try core.buffer.storedRecord(id)], topic: "shop.audit")
        #expect(copy == Replayer.Outcome(replayed: 1))
        #expect(try core.buffer.storedRecord(id).state == .dead, "a copy to another topic changes nothing")
        let settled = await replayer.replay([try core.buffer.storedRecord(id)], topic: nil)
        #expect(settled == Replayer.Outcome(replayed: 1))
        #expect(try core.buffer.storedRecord(id).state == .delivered)
        let marker = core.publisher.sent.last?.record.headers.first { $0.name == Replayer.markerHeader }
        #expect(marker?.value == Array("2023-11-14T22:15:00.000Z".utf8))
        #expect(core.counter("relay_replayed_total") == 2)
        #expect(core.exporter.metrics.activity.events(status: "replayed", limit: 10).count == 2)
        await core.close()
    }

    @Test("A replay that Kafka refuses leaves the record as it was, and one the retrier holds is skipped")
    func replayFailureAndSkip() async throws {
        let core = try Core()
        guard let id = await core.bufferWhileDown("d1") else { return }
        core.publisher.answer { _ in .failure(Self.transient) }
        let replayer = Replayer(
            buffer: core.buffer,
            publisher: core.publisher,
            clock: ManualWallClock(unixSeconds: 1_700_000_100),
            metrics: core.exporter.metrics,
            logger: core.logger
        )
        let stored = try core.buffer.storedRecord(id)
        #expect(await replayer.replay([stored], topic: nil) == Replayer.Outcome(failed: 1))
        #expect(core.statistics.pendingCount == 1 && core.statistics.inFlightCount == 0)
        _ = core.buffer.claimPending(limit: 1)
        #expect(await replayer.replay([stored], topic: nil) == Replayer.Outcome(skipped: 1))
        await core.close()
    }
}
