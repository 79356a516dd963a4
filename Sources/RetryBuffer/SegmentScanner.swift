/// Reads a segment or state file's bytes back after a restart, tolerating what a crash or a bad disk
/// leaves behind: a torn last frame is cut off, a damaged frame in the middle is stepped over and
/// reported, and nothing in the input can make it trap.
struct SegmentScanner {
    /// The eight bytes every segment file starts with, followed by its number (u64).
    static let segmentMagic = Array("WRSEG001".utf8)
    /// The eight bytes every state file starts with, followed by its segment's number.
    static let stateMagic = Array("WRSTA001".utf8)
    static let fileHeaderSize = 16

    /// One intact record found in a segment.
    struct FoundRecord {
        var id: RecordID
        var state: RecordState
        var receivedAt: Int64
        var attempts: UInt32
        var orderingKey: UInt64
        var offset: Int
        var frameLength: Int
    }

    /// What a file held.
    struct Result<Item> {
        var items: [Item] = []
        /// The byte range of each item's frame, in file order.
        var intact: [Range<Int>] = []
        /// Byte ranges that hold no intact frame but are followed by one.
        var corruptRanges: [Range<Int>] = []
        /// Where the intact data ends; anything after it is a torn tail to cut off.
        var validEnd: Int
        /// Whether the file starts with the right header.
        var headerIsValid: Bool
        /// Payload bytes checksummed for candidate frames while stepping over damage (bounded by
        /// ``RecordFrame/resynchronizationBudget(fileSize:)``).
        var resynchronizationBytes = 0
    }

    /// The file header for a segment or state file numbered `number`.
    static func fileHeader(magic: [UInt8], number: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: fileHeaderSize)
        writer.bytes.append(contentsOf: magic)
        writer.u64(number)
        return writer.bytes
    }

    static func scanSegment(_ bytes: [UInt8], number: UInt64) -> Result<FoundRecord> {
        scan(bytes, magic: segmentMagic, number: number) { payload, offset, frameLength in
            guard let (id, state, record, _) = try? BufferCodec.decodeRecord(payload) else { return nil }
            return FoundRecord(
                id: id,
                state: state,
                receivedAt: record.receivedAt,
                attempts: record.attempts,
                orderingKey: record.orderingKey,
                offset: offset,
                frameLength: frameLength
            )
        }
    }

    static func scanStates(_ bytes: [UInt8], number: UInt64) -> Result<BufferCodec.StateChange> {
        scan(bytes, magic: stateMagic, number: number) { payload, _, _ in try? BufferCodec.decodeState(payload) }
    }

    private static func scan<Item>(
        _ bytes: [UInt8],
        magic: [UInt8],
        number: UInt64,
        decode: ([UInt8], Int, Int) -> Item?
    ) -> Result<Item> {
        let header = fileHeader(magic: magic, number: number)
        guard bytes.count >= fileHeaderSize, Array(bytes.prefix(fileHeaderSize)) == header else {
            return Result(validEnd: 0, headerIsValid: false)
        }
        var result = Result<Item>(validEnd: fileHeaderSize, headerIsValid: true)
        let budget = RecordFrame.resynchronizationBudget(fileSize: bytes.count)
        var remaining = budget
        defer { result.resynchronizationBytes = budget - remaining }
        var offset = fileHeaderSize
        while offset < bytes.count {
            switch RecordFrame.scan(bytes, at: offset) {
            case .frame(let payload, let next):
                if let item = decode(Array(bytes[payload]), offset, next - offset) {
                    result.items.append(item)
                    result.intact.append(offset..<next)
                } else {
                    // An intact frame holding something else (e.g. a record in a state file) is damage too.
                    result.corruptRanges.append(offset..<next)
                }
                offset = next
                result.validEnd = next
            case .incomplete, .invalid:
                guard let next = RecordFrame.resynchronize(bytes, after: offset, budget: &remaining) else {
                    // Nothing intact follows: a torn tail (or damage at the very end).
                    return result
                }
                result.corruptRanges.append(offset..<next)
                offset = next
            }
        }
        return result
    }
}
