import RelayPrimitives

/// Reads a segment's record frames in file order through a bounded window, so that listing,
/// counting or replaying records never holds a whole segment (64 MiB by default) in memory: at most
/// the window and the frame being read.
///
/// Damage is handled as ``SegmentScanner`` handles it: a frame that is not intact is stepped over
/// to the next intact one, searched for window by window.
struct SegmentFrameReader {
    private let file: any BufferFile
    private let size: Int
    private let windowSize: Int
    private var window: [UInt8] = []
    private var windowStart = 0
    private(set) var offset = SegmentScanner.fileHeaderSize
    /// What is left of the bytes candidate frames may checksum while stepping over damage.
    private(set) var resynchronizationBudget: Int

    /// - Parameter offset: where to start: a frame boundary (the file's first frame by default).
    init(file: any BufferFile, size: Int, windowSize: Int = 1 << 20, offset: Int = SegmentScanner.fileHeaderSize) {
        self.file = file
        self.size = size
        self.windowSize = windowSize
        self.offset = offset
        self.resynchronizationBudget = RecordFrame.resynchronizationBudget(fileSize: size)
    }

    /// Bytes `range` of the file, from the window when it holds them.
    private mutating func bytes(_ range: Range<Int>) throws(FileIOError) -> [UInt8] {
        if range.lowerBound < windowStart || range.upperBound > windowStart + window.count {
            if range.count > windowSize { return try file.read(at: range.lowerBound, count: range.count) }
            windowStart = range.lowerBound
            window = try file.read(at: windowStart, count: min(windowSize, size - windowStart))
        }
        return Array(window[(range.lowerBound - windowStart)..<(range.upperBound - windowStart)])
    }

    /// The next intact frame's offset and payload, or `nil` at the end of the intact data.
    mutating func next() throws(FileIOError) -> (offset: Int, payload: [UInt8])? {
        while offset + RecordFrame.headerSize <= size {
            if let frame = try frame(at: offset) {
                defer { offset += RecordFrame.headerSize + frame.count }
                return (offset, frame)
            }
            guard let resynchronized = try nextMagic(after: offset) else { return nil }
            offset = resynchronized
        }
        return nil
    }

    /// The payload of the intact frame at `start`, if one is there.
    private mutating func frame(at start: Int) throws(FileIOError) -> [UInt8]? {
        var header = ByteReader(try bytes(start..<start + RecordFrame.headerSize))
        guard let magic = try? header.u32(), magic == RecordFrame.magic,
            let length = try? header.u32(), Int(length) <= RecordFrame.maximumPayload,
            let crc = try? header.u32(),
            start + RecordFrame.headerSize + Int(length) <= size
        else { return nil }
        let payloadStart = start + RecordFrame.headerSize
        let payload = try bytes(payloadStart..<payloadStart + Int(length))
        return CRC32C.checksum(payload) == crc ? payload : nil
    }

    /// The offset of the next frame magic after `start` that begins an intact frame, within what is
    /// left of the reader's ``RecordFrame/resynchronizationBudget(fileSize:)``.
    private mutating func nextMagic(after start: Int) throws(FileIOError) -> Int? {
        let magic: [UInt8] = [0x43, 0x45, 0x52, 0x57]  // "WREC" little-endian
        var position = start + 1
        while position + RecordFrame.headerSize <= size {
            let chunk = try bytes(position..<min(size, position + windowSize))
            var index = 0
            while index + magic.count <= chunk.count {
                if chunk[index] == magic[0], chunk[index + 1] == magic[1], chunk[index + 2] == magic[2],
                    chunk[index + 3] == magic[3], position + index + RecordFrame.headerSize <= size
                {
                    let candidate = position + index
                    let claimed = RecordFrame.claimedLength(
                        try bytes(candidate..<candidate + RecordFrame.headerSize)
                    )
                    guard claimed <= resynchronizationBudget else { return nil }
                    resynchronizationBudget -= min(claimed, size - candidate)
                    if try frame(at: candidate) != nil { return candidate }
                }
                index += 1
            }
            position += max(1, chunk.count - magic.count + 1)
        }
        return nil
    }
}
