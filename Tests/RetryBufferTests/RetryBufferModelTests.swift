import RetryBuffer
import RetryBufferTestKit
import Testing

/// Random sequences of appends, archive copies, state changes, crashes (unsynced bytes dropped,
/// tails torn), clean restarts and segment deletions, checked against a model: no record whose
/// append returned is ever lost, none appears twice, and none is in a state it was never given.
@Suite("Retry buffer against a model", .timeLimit(.minutes(3)))
struct RetryBufferModelTests {
    struct Expected {
        var record: BufferRecord
        /// The state the model says it is in.
        var state: RecordState
        /// States it may show after a crash (state changes are written without waiting for fsync).
        var allowedAfterCrash: Set<RecordState>
    }

    @Test("Model-based: append, ack, dead, revive, crash, restart, delete", arguments: 0..<24)
    func model(seed: Int) async throws {
        var random = SeededGenerator(seed: UInt64(seed) * 7919)
        let fileSystem = InMemoryFileSystem()
        let retention: Duration = seed % 2 == 0 ? .zero : .seconds(3600)
        let configuration = BufferConfiguration(
            maximumSize: 1 << 30,
            segmentSize: 1500,
            archiveRetention: retention,
            maintenanceInterval: .milliseconds(5)
        )
        var buffer = try openBuffer(fileSystem, configuration: configuration)
        var model: [RecordID: Expected] = [:]
        var archivedDeliveryIDs = Set<String>()
        var nextNumber = 0

        func ids(in state: RecordState) -> [RecordID] {
            model.filter { $0.value.state == state }.map(\.key).sorted()
        }

        for step in 0..<150 {
            let choice = Int.random(in: 0..<100, using: &random)
            switch choice {
            case 0..<35:
                nextNumber += 1
                let record = sampleRecord(
                    nextNumber,
                    key: "k\(Int.random(in: 0..<5, using: &random))",
                    size: Int.random(in: 10...300, using: &random)
                )
                let id = try await buffer.append(record)
                #expect(model[id] == nil, "ids are never reused")
                model[id] = Expected(record: record, state: .pending, allowedAfterCrash: [.pending])
            case 35..<45:
                nextNumber += 1
                let record = sampleRecord(nextNumber, size: 50)
                await buffer.archive(record)
                if retention > .zero { archivedDeliveryIDs.insert(record.deliveryID) }
            case 45..<65:
                guard let id = ids(in: .pending).randomElement(using: &random) else { continue }
                buffer.markDelivered(id)
                model[id]!.state = .delivered
                // State changes are written lazily: a crash may leave any earlier one.
                model[id]!.allowedAfterCrash.formUnion([.delivered])
            case 65..<72:
                guard let id = ids(in: .pending).randomElement(using: &random) else { continue }
                buffer.markDead(id, reason: "permanent", attempts: 5)
                model[id]!.state = .dead
                model[id]!.allowedAfterCrash.formUnion([.dead])
            case 72..<76:
                guard let id = ids(in: .dead).randomElement(using: &random) else { continue }
                buffer.revive(id)
                model[id]!.state = .pending
                model[id]!.allowedAfterCrash.formUnion([.pending])
            case 76..<84:
                let claimed = buffer.claimPending(limit: 3)
                for pending in claimed {
                    #expect(model[pending.id]?.state == .pending, "only pending records are claimed")
                    buffer.releaseInFlight(pending.id, attempts: pending.attempts + 1)
                }
            case 84..<92:
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...15, using: &random)))
                fileSystem.crash(tearing: Bool.random(using: &random), using: &random)
                await buffer.close()
                buffer = try openBuffer(fileSystem, configuration: configuration)
                try verify(
                    buffer,
                    model: &model,
                    archived: archivedDeliveryIDs,
                    afterCrash: true,
                    retention: retention,
                    step: step
                )
            default:
                await buffer.close()
                buffer = try openBuffer(fileSystem, configuration: configuration)
                try verify(
                    buffer,
                    model: &model,
                    archived: archivedDeliveryIDs,
                    afterCrash: false,
                    retention: retention,
                    step: step
                )
            }
        }
        await buffer.close()
        buffer = try openBuffer(fileSystem, configuration: configuration)
        try verify(
            buffer,
            model: &model,
            archived: archivedDeliveryIDs,
            afterCrash: false,
            retention: retention,
            step: -1
        )
        await buffer.close()
    }

    private func verify(
        _ buffer: RetryBuffer,
        model: inout [RecordID: Expected],
        archived: Set<String>,
        afterCrash: Bool,
        retention: Duration,
        step: Int
    ) throws {
        let stored = try buffer.records()
        var seen = Set<RecordID>()
        for item in stored {
            #expect(seen.insert(item.id).inserted, "record \(item.id) appears twice (step \(step))")
            guard var expected = model[item.id] else {
                #expect(
                    item.state == .delivered && archived.contains(item.record.deliveryID),
                    "unexpected record \(item.id) (step \(step))"
                )
                continue
            }
            var content = item.record
            content.attempts = expected.record.attempts
            #expect(content == expected.record, "record \(item.id) changed on disk (step \(step))")
            let allowed = afterCrash ? expected.allowedAfterCrash : [expected.state]
            #expect(
                allowed.contains(item.state),
                "record \(item.id) is \(item.state), expected \(allowed) (step \(step))"
            )
            expected.state = item.state
            expected.allowedAfterCrash = [item.state]
            model[item.id] = expected
        }
        for (id, expected) in model where !seen.contains(id) {
            // Only settled records may be gone: their segment was deleted (no archive) as it should be.
            let mayBeGone =
                expected.state == .delivered && (retention == .zero || afterCrash == false && retention == .zero)
            #expect(mayBeGone && retention == .zero, "record \(id) (\(expected.state)) was lost (step \(step))")
            model[id] = nil
        }
        #expect(buffer.statistics.pendingCount == model.values.filter { $0.state == .pending }.count, "step \(step)")
        #expect(buffer.statistics.deadCount == model.values.filter { $0.state == .dead }.count, "step \(step)")
    }
}
