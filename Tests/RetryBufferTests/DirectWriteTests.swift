import Foundation
import Synchronization
import Testing

@testable import RetryBuffer

/// Large batches bypass the page cache (`O_DIRECT` for their whole blocks, a plain write for the
/// rest): the file must hold, after every write, exactly the bytes and size plain writes leave.
@Suite("Writes past the page cache")
struct DirectWriteTests {
    static func temporaryDirectory() throws -> String {
        let name = "relay-direct-\(UUID().uuidString)"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Whether the file system under `directory` takes direct writes (ext4 and xfs do; a CI
    /// machine's temporary directory could be one that does not).
    static func supportsDirectWrites(_ directory: String) -> Bool {
        let probe = directory + "/probe"
        let descriptor = open(probe, O_RDWR | O_CREAT, 0o600)
        defer {
            close(descriptor)
            unlink(probe)
        }
        guard let direct = DirectWrites.reopen(descriptor) else { return false }
        close(direct)
        return true
    }

    /// `count` bytes that differ at every offset, so a misplaced block shows.
    static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test(
        "Appends of every size and alignment leave the bytes and size plain writes would, their whole blocks written directly"
    )
    func appendsMatchPlainWrites() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try #require(try POSIXFileSystem().open(directory + "/segment.log", create: true) as? POSIXFile)
        var expected: [UInt8] = []
        // The whole blocks inside each large batch: its unaligned start shares a block with the
        // file's previous end, which the page cache holds dirty, so it must go through the cache
        // too (a direct write over that block waits for the kernel to write the page back first).
        var wholeBlocks = 0
        func append(_ parts: [[UInt8]]) throws {
            let start = expected.count
            try file.write(gathering: parts, at: start)
            expected += parts.joined()
            #expect(try file.size == expected.count)
            let alignment = DirectWrites.alignment
            if expected.count - start >= DirectWrites.threshold {
                let firstBoundary = (start + alignment - 1) / alignment * alignment
                wholeBlocks += expected.count / alignment * alignment - firstBoundary
            }
        }
        let header = Self.pattern(37, seed: 1)
        try file.write(header, at: 0)
        expected = header
        // Below the threshold, above it from an unaligned offset, ending on a block boundary,
        // larger than the reused buffer, and small again after a large one.
        try append([Self.pattern(1_000, seed: 2), Self.pattern(3_000, seed: 3)])
        try append([Self.pattern(70_001, seed: 4), Self.pattern(5, seed: 5), Self.pattern(12_345, seed: 6)])
        let toBoundary = DirectWrites.alignment * 40 - expected.count % DirectWrites.alignment
        try append([Self.pattern(toBoundary, seed: 7)])
        #expect(expected.count % DirectWrites.alignment == 0)
        try append([Self.pattern(DirectWrites.alignment * 20, seed: 8)])
        try append([Self.pattern(DirectWrites.scratchSize + 4_097, seed: 9), Self.pattern(65_536, seed: 10)])
        try append([Self.pattern(17, seed: 11)])
        try append([Self.pattern(200_000, seed: 12)])

        #expect(try file.read(at: 0, count: expected.count + 10) == expected)
        let reopened = try POSIXFileSystem().open(directory + "/segment.log", create: false)
        #expect(try reopened.read(at: 0, count: expected.count + 10) == expected, "a new descriptor reads the same")
        if Self.supportsDirectWrites(directory) {
            #expect(
                file.bytesWrittenDirectly.load(ordering: .relaxed) == wholeBlocks,
                "exactly the whole blocks inside the large batches bypassed the cache"
            )
        }
    }

    @Test("A write over bytes already in the file replaces exactly them (a failed batch rewritten)")
    func rewriteInPlace() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try #require(try POSIXFileSystem().open(directory + "/segment.log", create: true) as? POSIXFile)
        let first = Self.pattern(300_000, seed: 20)
        try file.write(gathering: [first], at: 0)
        let second = Self.pattern(100_000, seed: 21)
        try file.write(gathering: [second], at: 123_457)
        var expected = first
        expected.replaceSubrange(123_457..<223_457, with: second)
        #expect(try file.read(at: 0, count: 400_000) == expected)
        try file.truncate(to: 150_001)
        try file.write(gathering: [Self.pattern(90_000, seed: 22)], at: 150_001)
        expected = Array(expected.prefix(150_001)) + Self.pattern(90_000, seed: 22)
        #expect(try file.read(at: 0, count: 400_000) == expected)
        #expect(try file.size == expected.count)
    }

    @Test("Records written in large batches are read back after a restart, every frame intact")
    func largeBatchesSurviveRestart() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var ids: [RecordID: BufferRecord] = [:]
        do {
            let buffer = try openBuffer(POSIXFileSystem(), directory: directory)
            // Durable appends of 90 KB records arriving together form batches above the threshold;
            // small ones between them leave the batches' ends unaligned.
            try await withThrowingTaskGroup(of: (RecordID, BufferRecord).self) { group in
                for number in 0..<40 {
                    let record = sampleRecord(number, size: number % 4 == 0 ? 90_000 : 300 + number)
                    group.addTask { (try await buffer.append(record), record) }
                }
                for try await (id, record) in group { ids[id] = record }
            }
            for number in 40..<60 { await buffer.archive(sampleRecord(number, size: 150_000)) }
            await buffer.close()
        }
        let buffer = try openBuffer(POSIXFileSystem(), directory: directory)
        for (id, record) in ids { #expect(try buffer.read(id) == record) }
        let report = try buffer.check()
        #expect(report.damage.isEmpty)
        #expect(report.records == 60)
        await buffer.close()
    }
}
