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
        buffer.archive(archived, valueChecksum: CRC32C.checksum(archived.value))
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
