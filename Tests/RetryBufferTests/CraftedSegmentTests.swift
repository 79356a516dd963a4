import Testing

@testable import RetryBuffer

/// Someone who can write to the buffer directory can craft its files; reading them back must stay
/// linear in their size, whatever they hold.
@Suite("Crafted segments")
struct CraftedSegmentTests {
    /// A state file with one intact frame, then a frame magic every 12 bytes, each claiming a
    /// payload that runs exactly to the end of the file (so each would be checksummed whole).
    static func crafted(size: Int) -> [UInt8] {
        let change = BufferCodec.StateChange(id: RecordID(rawValue: 1), state: .delivered, attempts: 1, reason: "")
        var bytes = SegmentScanner.fileHeader(magic: SegmentScanner.stateMagic, number: 0)
        bytes += RecordFrame.encode(BufferCodec.encodeState(change))
        let end = bytes.count + (size - bytes.count) / RecordFrame.headerSize * RecordFrame.headerSize
        while bytes.count < end {
            let claimed = UInt32(end - bytes.count - RecordFrame.headerSize)
            for value in [RecordFrame.magic, claimed, 0] {
                withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
            }
        }
        return bytes
    }

    @Test("Stepping over crafted damage checksums at most eight times the file, not its square")
    func resynchronizationIsLinear() throws {
        let bytes = Self.crafted(size: 1 << 20)
        let result = SegmentScanner.scanStates(bytes, number: 0)
        #expect(result.items.count == 1, "the intact frame before the damage is kept")
        let budget = RecordFrame.resynchronizationBudget(fileSize: bytes.count)
        #expect(result.resynchronizationBytes <= budget)
        // Every candidate checked would have cost about half the file on average: quadratic.
        let candidates = (bytes.count - 64) / RecordFrame.headerSize
        #expect(result.resynchronizationBytes < candidates * bytes.count / 16, "\(result.resynchronizationBytes)")
    }

    @Test("The windowed reader behind listings is bounded the same way")
    func readerIsLinear() throws {
        let bytes = Self.crafted(size: 1 << 20)
        let file = InMemoryBytes(bytes)
        var reader = SegmentFrameReader(file: file, size: bytes.count, offset: SegmentScanner.fileHeaderSize)
        #expect(try reader.next() != nil)
        #expect(try reader.next() == nil)
        #expect(reader.resynchronizationBudget >= 0)
    }
}

/// A read-only file over bytes in memory.
private final class InMemoryBytes: BufferFile, @unchecked Sendable {
    let contents: [UInt8]

    init(_ contents: [UInt8]) { self.contents = contents }

    var size: Int {
        get throws(FileIOError) { contents.count }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {}

    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
        Array(contents[min(offset, contents.count)..<min(offset + count, contents.count)])
    }

    func synchronize() throws(FileIOError) {}

    func truncate(to size: Int) throws(FileIOError) {}
}
