import RelayPrimitives

/// The on-disk frame around every record and state entry:
///
///     magic "WREC" (u32) | payload length (u32) | CRC-32C of payload (u32) | payload
///
/// The magic lets recovery find the next frame after a damaged one; the CRC tells a complete,
/// intact frame from a torn or rotten one.
enum RecordFrame {
    static let magic: UInt32 = 0x5752_4543
    static let headerSize = 12
    /// No payload is larger (a body is at most 1 GiB by configuration; headers add little).
    static let maximumPayload = 1 << 30

    /// `payload` framed.
    static func encode(_ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: headerSize)
        frame.reserveCapacity(headerSize + payload.count)
        frame.append(contentsOf: payload)
        seal(&frame)
        return frame
    }

    /// The CRC-32C of a payload's last `count` bytes, known before the frame was built (a record's
    /// value is the last field of its payload, and the request path has its checksum already).
    struct KnownTail {
        var count: Int
        var checksum: UInt32
    }

    /// Below this, reading the tail again costs less than combining its checksum (about 0.3 µs).
    static let smallestCombinedTail = 4096

    /// Fills in the header of a frame whose payload was written after `headerSize` placeholder bytes
    /// (see ``BufferCodec/encodeRecordFrame(_:state:)``), so the payload is never copied again.
    /// With a large `knownTail`, only the bytes before it are read for the checksum.
    static func seal(_ frame: inout [UInt8], knownTail: KnownTail? = nil) {
        let payloadCount = frame.count - headerSize
        let checksum = frame.withUnsafeBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
            guard let tail = knownTail, tail.count >= smallestCombinedTail, tail.count <= payloadCount else {
                return CRC32C.checksum(payload)
            }
            let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: payload[..<(payloadCount - tail.count)]))
            return CRC32C.combine(head, tail.checksum, lengthOfB: tail.count)
        }
        frame.withUnsafeMutableBytes { header in
            header.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            header.storeBytes(of: UInt32(payloadCount).littleEndian, toByteOffset: 4, as: UInt32.self)
            header.storeBytes(of: checksum.littleEndian, toByteOffset: 8, as: UInt32.self)
        }
    }

    /// What is at an offset of a file's bytes.
    enum Scan: Equatable {
        /// An intact frame; its payload is `payload`, the next frame starts at `next`.
        case frame(payload: Range<Int>, next: Int)
        /// A well-formed header whose payload runs past the end of the data.
        case incomplete
        /// No intact frame starts here.
        case invalid
    }

    static func scan(_ bytes: [UInt8], at offset: Int) -> Scan {
        guard bytes.count - offset >= headerSize else { return .incomplete }
        var reader = ByteReader(bytes, at: offset)
        guard let foundMagic = try? reader.u32(), foundMagic == magic,
            let length = try? reader.u32(), Int(length) <= maximumPayload,
            let crc = try? reader.u32()
        else { return .invalid }
        let start = offset + headerSize
        let end = start + Int(length)
        guard end <= bytes.count else { return .incomplete }
        let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        return actual == crc ? .frame(payload: start..<end, next: end) : .invalid
    }

    /// How many payload bytes the candidate frames met while stepping over damage in a file of
    /// `fileSize` bytes may have checksummed: eight times the file, and 1 MiB. Each candidate costs
    /// the length it claims, so a file crafted with a frame magic every few bytes, each claiming a
    /// payload to the end, would otherwise cost time quadratic in its size. Past the budget the rest
    /// of the file counts as damage; real damage (a torn write, a bad sector) meets few candidates.
    static func resynchronizationBudget(fileSize: Int) -> Int { 8 * fileSize + (1 << 20) }

    /// The payload length a frame header at `offset` claims.
    static func claimedLength(_ header: some Collection<UInt8>) -> Int {
        header.dropFirst(4).prefix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    /// The offset of the next intact frame after `offset`, if any (used to step over damage); `nil`
    /// too once checking candidates would pass `budget` (see ``resynchronizationBudget(fileSize:)``),
    /// which each candidate's claimed length is taken from.
    static func resynchronize(_ bytes: [UInt8], after offset: Int, budget: inout Int) -> Int? {
        let magicBytes: [UInt8] = [0x43, 0x45, 0x52, 0x57]  // "WREC" little-endian
        var position = offset + 1
        while position + headerSize <= bytes.count {
            if bytes[position] == magicBytes[0], bytes[position + 1] == magicBytes[1],
                bytes[position + 2] == magicBytes[2], bytes[position + 3] == magicBytes[3]
            {
                let claimed = claimedLength(bytes[position..<position + headerSize])
                guard claimed <= budget else { return nil }
                budget -= min(claimed, bytes.count - position)
                if case .frame = scan(bytes, at: position) { return position }
            }
            position += 1
        }
        return nil
    }
}
