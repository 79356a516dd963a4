import Foundation
import RelayPrimitives
import RetryBufferTestKit
import Testing

@testable import RetryBuffer

@Suite("Checksums the request path already has", .timeLimit(.minutes(2)))
struct ChecksumReuseTests {
    @Test("Large records appended with their value's CRC-32C (pending and archived) read back intact after a reopen")
    func knownValueChecksum() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem)
        let pending = sampleRecord(1, size: 200_000)
        let archived = sampleRecord(2, size: RecordFrame.smallestCombinedTail)
        let small = sampleRecord(3, size: 100)
        let id = try await buffer.append(pending, valueChecksum: CRC32C.checksum(pending.value))
        await buffer.archive(archived, valueChecksum: CRC32C.checksum(archived.value))
        _ = try await buffer.append(small, valueChecksum: CRC32C.checksum(small.value))
        await buffer.close()

        let reopened = try openBuffer(fileSystem)
        #expect(reopened.statistics.corruptRanges == 0)
        #expect(try reopened.read(id) == pending)
        #expect(try reopened.records().map(\.record) == [pending, archived, small])
        await reopened.close()
    }

    @Test("Seen deliveries survive a reopen with their body checksum; an older relay's entries load without one")
    func seenJournal() async throws {
        let fileSystem = InMemoryFileSystem()
        let clock = TestClock()
        let now = clock.now() / 1000
        let buffer = try openBuffer(fileSystem, clock: clock)
        let seen = SeenDelivery(
            source: "docutray",
            deliveryID: "req_1",
            bodyChecksum: 0xDEAD_BEEF,
            expiresAt: now + 300
        )
        buffer.rememberSeen(seen)
        await buffer.close()

        // One entry as relays before the CRC-32C digest wrote it: a 128-bit SHA-256 prefix.
        var legacy = ByteWriter(capacity: 64)
        legacy.u8(BufferCodec.version)
        legacy.u8(SeenJournal.sha256Kind)
        legacy.string("docutray")
        legacy.string("req_0")
        legacy.u64(0x0123_4567_89AB_CDEF)
        legacy.u64(0xFEDC_BA98_7654_3210)
        legacy.i64(now + 300)
        let bucket = (now + 300) / SeenJournal.bucketSeconds * SeenJournal.bucketSeconds
        let path = bufferDirectory + "/" + SeenJournal.folderName + "/" + SeenJournal.fileName(bucket)
        let journal = try #require(fileSystem.contents(of: path))
        fileSystem.replaceContents(of: path, with: journal + RecordFrame.encode(legacy.bytes))

        let reopened = try openBuffer(fileSystem, clock: clock)
        let recovered = reopened.recoveredSeenDeliveries.sorted { $0.deliveryID < $1.deliveryID }
        #expect(
            recovered == [
                SeenDelivery(source: "docutray", deliveryID: "req_0", bodyChecksum: nil, expiresAt: now + 300), seen,
            ]
        )
        await reopened.close()
    }
}

@Suite("The seen journal's size")
struct SeenJournalSizeTests {
    @Test(
        "The seen journal counts toward the buffer's maximum size: a journal that fills it leaves no room for records"
    )
    func journalCountsTowardMaximumSize() async throws {
        let fileSystem = InMemoryFileSystem()
        let clock = TestClock()
        let now = clock.now() / 1000
        let configuration = BufferConfiguration(
            maximumSize: 1 << 20,
            segmentSize: 64 << 10,
            maintenanceInterval: .milliseconds(20)
        )
        let buffer = try openBuffer(fileSystem, configuration: configuration, clock: clock)
        // About 1.5 MiB of journal: more than the whole buffer may take.
        let id = String(repeating: "d", count: 150)
        for number in 0..<10_000 {
            buffer.rememberSeen(
                SeenDelivery(source: "github", deliveryID: "\(id)-\(number)", bodyChecksum: 1, expiresAt: now + 3600)
            )
        }
        let journal = bufferDirectory + "/" + SeenJournal.folderName + "/"
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while fileSystem.paths.filter({ $0.hasPrefix(journal) }).compactMap({ fileSystem.contents(of: $0)?.count })
            .reduce(0, +) < 1 << 20, ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        await #expect(throws: BufferError.full(maximumSize: 1 << 20)) {
            try await buffer.append(sampleRecord(1, size: 32 << 10))
        }
        await buffer.close()
    }
}

@Suite("Archive copies under a slow disk", .timeLimit(.minutes(2)))
struct ArchiveBacklogTests {
    static func record(_ number: Int) -> BufferRecord { sampleRecord(number, size: 1 << 20) }

    @Test("Archive copies arriving faster than the disk takes them wait for room (32 MiB queued), and none is lost")
    func boundedBacklog() async throws {
        let disk = GatedFileSystem()
        let buffer = try openBuffer(disk)
        disk.closeGate()
        // The writer takes the first copy and stalls on the disk; the rest queue behind it.
        await buffer.archive(Self.record(0))
        try await Task.sleep(for: .milliseconds(100))
        let archived = Locked(1)
        let archiving = Task {
            for number in 1..<80 {
                await buffer.archive(Self.record(number))
                archived.withLock { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let whileStalled = archived.withLock { $0 }
        #expect(
            whileStalled >= 2 && whileStalled <= 34,
            "\(whileStalled) of 80 copies handed over while the disk stalls"
        )
        disk.openGate()
        await archiving.value
        await buffer.close()

        let reopened = try openBuffer(disk)
        #expect(reopened.statistics.archivedCount == 80)
        #expect(try reopened.records().map(\.record) == (0..<80).map(Self.record))
        await reopened.close()
    }
}

/// An in-memory file system whose writes wait while its gate is closed (a disk that stalls).
final class GatedFileSystem: BufferFileSystem {
    private let base = InMemoryFileSystem()
    private let gate = NSCondition()
    private let closed = Locked(false)

    func closeGate() { closed.withLock { $0 = true } }

    func openGate() {
        gate.lock()
        closed.withLock { $0 = false }
        gate.broadcast()
        gate.unlock()
    }

    fileprivate func waitForGate() {
        gate.lock()
        while closed.withLock({ $0 }) { gate.wait() }
        gate.unlock()
    }

    func createDirectory(_ path: String) throws(FileIOError) { try base.createDirectory(path) }
    func contents(ofDirectory path: String) throws(FileIOError) -> [String] { try base.contents(ofDirectory: path) }
    func fileExists(_ path: String) -> Bool { base.fileExists(path) }
    func open(_ path: String, create: Bool) throws(FileIOError) -> any BufferFile {
        GatedFile(file: try base.open(path, create: create), disk: self)
    }
    func rename(_ source: String, to destination: String) throws(FileIOError) {
        try base.rename(source, to: destination)
    }
    func remove(_ path: String) throws(FileIOError) { try base.remove(path) }
    func synchronizeDirectory(_ path: String) throws(FileIOError) { try base.synchronizeDirectory(path) }
    func lock(_ path: String) throws(FileIOError) -> any BufferLock { try base.lock(path) }
}

private final class GatedFile: BufferFile {
    let file: any BufferFile
    let disk: GatedFileSystem

    init(file: any BufferFile, disk: GatedFileSystem) {
        self.file = file
        self.disk = disk
    }

    var size: Int { get throws(FileIOError) { try file.size } }
    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {
        disk.waitForGate()
        try file.write(bytes, at: offset)
    }
    func write(gathering parts: [[UInt8]], at offset: Int) throws(FileIOError) {
        disk.waitForGate()
        try file.write(gathering: parts, at: offset)
    }
    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] { try file.read(at: offset, count: count) }
    func synchronize() throws(FileIOError) { try file.synchronize() }
    func truncate(to size: Int) throws(FileIOError) { try file.truncate(to: size) }
}
