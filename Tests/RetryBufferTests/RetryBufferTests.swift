import Foundation
import RetryBuffer
import RetryBufferTestKit
import Testing

@Suite("Retry buffer: append, states, recovery", .timeLimit(.minutes(2)))
struct RetryBufferTests {
    @Test("An appended record reads back byte for byte and its state moves as told")
    func appendAndStates() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        let record = sampleRecord(1)
        let id = try await buffer.append(record)
        #expect(try buffer.read(id) == record)
        #expect(buffer.statistics.pendingCount == 1)
        #expect(buffer.statistics.oldestPendingReceivedAt == record.receivedAt)

        buffer.markDelivered(id)
        #expect(buffer.statistics.pendingCount == 0)
        #expect(buffer.statistics.archivedCount == 1)
        let second = try await buffer.append(sampleRecord(2))
        buffer.markDead(second, reason: "MSG_SIZE_TOO_LARGE", attempts: 3)
        #expect(buffer.statistics.deadCount == 1)
        let stored = try buffer.records()
        #expect(stored.map(\.state) == [.delivered, .dead])
        #expect(stored[1].reason == "MSG_SIZE_TOO_LARGE")
        #expect(stored[1].record.attempts == 3)
        await buffer.close()
    }

    @Test("Concurrent appends share fsyncs (group commit) and all become durable")
    func groupCommit() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        let before = fileSystem.synchronizations
        let ids = try await withThrowingTaskGroup(of: RecordID.self) { group in
            for number in 0..<200 { group.addTask { try await buffer.append(sampleRecord(number)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(ids).count == 200)
        #expect(fileSystem.synchronizations - before < 200, "fsyncs: \(fileSystem.synchronizations - before)")
        fileSystem.crash()
        let reopened = try openBuffer(fileSystem)
        #expect(reopened.statistics.pendingCount == 200)
        await reopened.close()
    }

    @Test("A clean restart keeps every state; pending records come back in order")
    func restart() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        var ids: [RecordID] = []
        for number in 0..<10 { ids.append(try await buffer.append(sampleRecord(number))) }
        buffer.markDelivered(ids[0])
        buffer.markDead(ids[1], reason: "TOPIC_AUTHORIZATION_FAILED", attempts: 2)
        buffer.markDeadLettered(ids[2], reason: "MSG_SIZE_TOO_LARGE")
        await buffer.archive(sampleRecord(100))
        await buffer.close()

        let reopened = try openBuffer(fileSystem)
        let states = try reopened.idsByState()
        #expect(states[.delivered]?.count == 2)
        #expect(states[.dead] == [ids[1]])
        #expect(states[.deadLettered] == [ids[2]])
        #expect(states[.pending] == Set(ids[3...]))
        #expect(reopened.claimPending(limit: 100).map(\.id) == Array(ids[3...]))
        let next = try await reopened.append(sampleRecord(11))
        #expect(next > ids.last!)
        await reopened.close()
    }

    @Test("Records of one key are claimed one at a time, in order; other keys in parallel")
    func claimOrdering() async throws {
        let buffer = try openBuffer(InMemoryFileSystem())
        let a1 = try await buffer.append(sampleRecord(1, key: "A"))
        let b1 = try await buffer.append(sampleRecord(2, key: "B"))
        let a2 = try await buffer.append(sampleRecord(3, key: "A"))
        #expect(buffer.hasPending(orderingKey: sampleRecord(0, key: "A").orderingKey))
        #expect(buffer.claimPending(limit: 10).map(\.id) == [a1, b1])
        #expect(buffer.claimPending(limit: 10).isEmpty, "A waits for a1, B has nothing more")
        buffer.releaseInFlight(a1, attempts: 2)
        #expect(buffer.claimPending(limit: 10).map(\.id) == [a1])
        buffer.markDelivered(a1)
        #expect(buffer.claimPending(limit: 10).map(\.id) == [a2])
        buffer.markDelivered(a2)
        buffer.markDelivered(b1)
        #expect(!buffer.hasPending(orderingKey: sampleRecord(0, key: "A").orderingKey))
        await buffer.close()
    }

    @Test("A record appended with a copy still in flight is not claimed until that copy is resolved")
    func inFlightCopy() async throws {
        let buffer = try openBuffer(InMemoryFileSystem())
        let id = try await buffer.append(sampleRecord(1), inFlight: true)
        #expect(buffer.claimPending(limit: 10).isEmpty)
        buffer.releaseInFlight(id)
        #expect(buffer.claimPending(limit: 10).map(\.id) == [id])
        await buffer.close()
    }

    @Test("A torn tail is cut off on restart; every complete record survives")
    func tornTail() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        for number in 0..<3 { _ = try await buffer.append(sampleRecord(number)) }
        await buffer.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        let bytes = try #require(fileSystem.contents(of: segment))
        // Half of a fourth record, as a crash mid-write leaves it.
        let partial = Array(bytes.suffix(from: 16).prefix(40))
        fileSystem.replaceContents(of: segment, with: bytes + partial)

        let reopened = try openBuffer(fileSystem)
        #expect(reopened.statistics.pendingCount == 3)
        #expect(reopened.statistics.corruptRanges == 0)
        #expect(fileSystem.contents(of: segment)?.count == bytes.count, "the torn tail was truncated")
        await reopened.close()
    }

    @Test("A damaged record in the middle is skipped and reported; the records after it survive")
    func corruptMiddleRecord() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(
            fileSystem,
            configuration: BufferConfiguration(archiveRetention: .zero, maintenanceInterval: .milliseconds(20))
        )
        var ids: [RecordID] = []
        for number in 0..<5 { ids.append(try await buffer.append(sampleRecord(number))) }
        await buffer.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        var bytes = try #require(fileSystem.contents(of: segment))
        let recordLength = (bytes.count - 16) / 5
        bytes[16 + recordLength * 2 + 30] ^= 0xFF  // inside the third record's payload
        fileSystem.replaceContents(of: segment, with: bytes)

        let reopened = try openBuffer(
            fileSystem,
            configuration: BufferConfiguration(archiveRetention: .zero, maintenanceInterval: .milliseconds(20))
        )
        #expect(reopened.statistics.corruptRanges == 1)
        #expect(try reopened.idsByState()[.pending] == [ids[0], ids[1], ids[3], ids[4]])
        // Once the segment is settled it is deleted, and the damaged bytes are kept in quarantine.
        for id in [ids[0], ids[1], ids[3], ids[4]] { reopened.markDelivered(id) }
        _ = try await reopened.append(sampleRecord(9))  // forces nothing; maintenance runs on its own
        try await waitUntil { !fileSystem.paths.contains(segment) }
        #expect(fileSystem.paths.contains { $0.contains("/quarantine/") && $0.hasSuffix(".bin") })
        await reopened.close()
    }

    @Test("A record frame in a state file is damage: check --quarantine moves it out and the next check is clean")
    func foreignFrameInStateFile() async throws {
        // Found by the log-reader fuzzer: the checker kept frames with a valid checksum but the wrong
        // kind of payload, so the file it rewrote was damaged again.
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        let id = try await buffer.append(sampleRecord(0))
        buffer.markDelivered(id)
        await buffer.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        let state = try #require(fileSystem.paths.first { $0.hasSuffix(".state") })
        let recordFrame = try #require(fileSystem.contents(of: segment)).dropFirst(16)
        fileSystem.replaceContents(of: state, with: try #require(fileSystem.contents(of: state)) + recordFrame)

        let first = try RetryBuffer.check(
            directory: bufferDirectory,
            quarantine: true,
            fileSystem: fileSystem,
            logger: quietLogger
        )
        #expect(first.damage.map(\.kind) == [.corrupt])
        #expect(first.quarantined.count == 1)
        let second = try RetryBuffer.check(
            directory: bufferDirectory,
            quarantine: false,
            fileSystem: fileSystem,
            logger: quietLogger
        )
        #expect(second.isClean, "\(second.damage)")
        #expect(second.stateEntries == first.stateEntries, "the intact state entries were kept")
    }

    @Test("Garbage of any shape in a segment never crashes recovery", arguments: 0..<20)
    func arbitraryBytes(seed: Int) async throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        for number in 0..<4 { _ = try await buffer.append(sampleRecord(number)) }
        await buffer.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        var bytes = try #require(fileSystem.contents(of: segment))
        for _ in 0..<Int.random(in: 1...20, using: &generator) {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[position] = UInt8.random(in: 0...255, using: &generator)
        }
        bytes += (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator)
        }
        fileSystem.replaceContents(of: segment, with: bytes)
        let reopened = try openBuffer(fileSystem)
        #expect(reopened.statistics.pendingCount <= 4)
        for stored in try reopened.records() {
            #expect(
                stored.record == sampleRecord(Int(stored.record.deliveryID.dropFirst(4))!),
                "an intact frame decodes to what was written"
            )
        }
        await reopened.close()
    }

    @Test("A deletion interrupted after its rename is finished on restart, and nothing comes back")
    func crashDuringDeletion() async throws {
        let fileSystem = InMemoryFileSystem()
        let configuration = BufferConfiguration(
            segmentSize: 600,
            archiveRetention: .zero,
            maintenanceInterval: .seconds(3600)
        )
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        var ids: [RecordID] = []
        for number in 0..<6 { ids.append(try await buffer.append(sampleRecord(number, size: 200))) }
        for id in ids { buffer.markDelivered(id) }
        await buffer.flush()
        await buffer.close()
        let logs = fileSystem.paths.filter { $0.hasSuffix(".log") }
        #expect(logs.count > 2)
        // The crash: the first segment was renamed (the commit point), its files not yet removed.
        let first = try #require(logs.first)
        try fileSystem.rename(first, to: first + ".deleting")
        try fileSystem.synchronizeDirectory(bufferDirectory)
        fileSystem.crash()

        let reopened = try openBuffer(fileSystem, configuration: configuration)
        #expect(!fileSystem.paths.contains { $0.hasSuffix(".deleting") })
        #expect(!fileSystem.paths.contains(first.replacingOccurrences(of: ".log", with: ".state")))
        #expect(reopened.statistics.pendingCount == 0, "no record of the deleted segment is resurrected")
        await reopened.close()
    }

    @Test("A crash at any step of deleting settled segments loses no pending record")
    func crashAtEveryDeletionStep() async throws {
        for step in 0..<12 {
            let fileSystem = InMemoryFileSystem()
            let configuration = BufferConfiguration(
                segmentSize: 600,
                archiveRetention: .zero,
                maintenanceInterval: .milliseconds(10)
            )
            let buffer = try openBuffer(fileSystem, configuration: configuration)
            var delivered: [RecordID] = []
            for number in 0..<4 { delivered.append(try await buffer.append(sampleRecord(number, size: 200))) }
            var kept: [RecordID] = []
            for number in 4..<7 { kept.append(try await buffer.append(sampleRecord(number, size: 200))) }
            await buffer.flush()
            fileSystem.failAll(afterOperations: step)
            for id in delivered { buffer.markDelivered(id) }
            try await Task.sleep(for: .milliseconds(60))
            fileSystem.crash()
            await buffer.close()

            let reopened = try openBuffer(fileSystem, configuration: configuration)
            let states = try reopened.idsByState()
            #expect(states[.pending]?.isSuperset(of: kept) == true, "step \(step)")
            let everything = (states[.pending] ?? []).union(states[.delivered] ?? [])
            #expect(everything.isSubset(of: Set(delivered + kept)), "step \(step)")
            await reopened.close()
        }
    }

    @Test("A full disk fails the append cleanly; the buffer recovers when space returns")
    func diskFull() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        let before = try await buffer.append(sampleRecord(1))
        fileSystem.failWrites(with: ENOSPC)
        await #expect {
            _ = try await buffer.append(sampleRecord(2))
        } throws: { error in
            guard case BufferError.io(let io) = error else { return false }
            return io.isNoSpace
        }
        fileSystem.failWrites(with: nil)
        let after = try await buffer.append(sampleRecord(3))
        #expect(try buffer.read(before) == sampleRecord(1))
        #expect(try buffer.read(after) == sampleRecord(3))
        await buffer.close()
        let reopened = try openBuffer(fileSystem)
        #expect(try reopened.records().map(\.record.deliveryID) == ["req_1", "req_3"])
        await reopened.close()
    }

    @Test("The size bound: archive is evicted first, then appends fail with .full")
    func bounded() async throws {
        let fileSystem = InMemoryFileSystem()
        let configuration = BufferConfiguration(
            maximumSize: 4000,
            segmentSize: 1000,
            maintenanceInterval: .seconds(3600)
        )
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        for number in 0..<8 { await buffer.archive(sampleRecord(number, size: 200)) }
        await buffer.flush()
        #expect(buffer.statistics.archivedCount == 8)
        var appended = 0
        do {
            for number in 100..<200 {
                _ = try await buffer.append(sampleRecord(number, size: 200))
                appended += 1
            }
            Issue.record("the buffer never filled")
        } catch BufferError.full {
            #expect(appended > 8, "archived records made room for pending ones")
        }
        #expect(buffer.statistics.totalBytes <= 4000)
        #expect(buffer.statistics.pendingCount == appended)
        await buffer.close()
    }

    @Test("Archived segments are deleted once the retention has passed")
    func retention() async throws {
        let fileSystem = InMemoryFileSystem()
        let clock = TestClock()
        let configuration = BufferConfiguration(
            segmentSize: 600,
            archiveRetention: .seconds(60),
            maintenanceInterval: .milliseconds(10)
        )
        let buffer = try openBuffer(fileSystem, configuration: configuration, clock: clock)
        for number in 0..<6 {
            let id = try await buffer.append(sampleRecord(number, size: 200))
            buffer.markDelivered(id)
        }
        try await Task.sleep(for: .milliseconds(50))
        let archived = buffer.statistics.archivedCount
        #expect(archived == 6)
        clock.advance(seconds: 61)
        try await waitUntil { buffer.statistics.archivedCount < archived }
        await buffer.close()
    }

    @Test("A second relay cannot open a buffer directory that is in use")
    func directoryLock() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-lock-\(UUID().uuidString)")
            .path
        let buffer = try openBuffer(POSIXFileSystem(), directory: directory)
        #expect {
            _ = try openBuffer(POSIXFileSystem(), directory: directory)
        } throws: { error in
            guard case BufferError.locked(_, let holder) = error else { return false }
            return holder == String(getpid())
        }
        await buffer.close()
        let again = try openBuffer(POSIXFileSystem(), directory: directory)
        await again.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("A lock held by another process is refused")
    func lockHeldByAnotherProcess() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-lock-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // flock(1) without forking: the process that holds the lock is the one we signal.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--no-fork", directory + "/LOCK", "sleep", "30"]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        try await waitUntil {
            (try? String(contentsOfFile: "/proc/\(holder.processIdentifier)/cmdline", encoding: .utf8))?.hasPrefix(
                "sleep"
            ) == true
        }
        #expect(throws: BufferError.self) { _ = try openBuffer(POSIXFileSystem(), directory: directory) }
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM may not arrive.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let buffer = try openBuffer(POSIXFileSystem(), directory: directory)
        await buffer.close()
    }
}

/// Polls `condition` until it holds (or fails the test after `timeout`).
func waitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met in \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A deterministic random generator (SplitMix64), so a failing case can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
