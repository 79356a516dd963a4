/// The buffer's binary field encodings (little-endian integers, length-prefixed text and bytes),
/// written through ``raw(_:)``: into a growing array (``ByteWriter``) or into memory sized beforehand
/// (``ByteCursor``).
protocol BinaryFieldWriter {
    /// Appends `bytes` as they are.
    mutating func raw(_ bytes: UnsafeRawBufferPointer)
}

extension BinaryFieldWriter {
    mutating func u8(_ value: UInt8) { withUnsafeBytes(of: value) { raw($0) } }

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { raw($0) } }

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { raw($0) } }

    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { raw($0) } }

    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    /// Text with a 16-bit length (names, ids, topics: all far below 64 KiB).
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            let count = min(utf8.count, Int(UInt16.max))
            u16(UInt16(count))
            raw(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8.prefix(count))))
        }
    }

    /// Bytes with a 32-bit length; `nil` is written as length `0xFFFF_FFFF`.
    mutating func blob(_ value: [UInt8]?) {
        guard let value else {
            u32(UInt32.max)
            return
        }
        u32(UInt32(value.count))
        value.withUnsafeBytes { raw($0) }
    }
}

/// The buffer's binary formats written into a growing array.
struct ByteWriter: BinaryFieldWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ bytes: UnsafeRawBufferPointer) { self.bytes.append(contentsOf: bytes) }
}

/// The buffer's binary formats written into memory sized beforehand for what is written, with no
/// capacity check or copy-on-write check per field as an array's appends make. Writing past the end
/// traps: a wrong size is a bug, never a silent overwrite.
struct ByteCursor: BinaryFieldWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = UnsafeMutableRawBufferPointer(buffer)
    }

    /// The next `count` bytes, which the caller fills.
    private mutating func take(_ count: Int) -> UnsafeMutableRawBufferPointer {
        precondition(count <= buffer.count - offset, "wrote past the end of a sized buffer")
        defer { offset += count }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    mutating func zeros(_ count: Int) { take(count).initializeMemory(as: UInt8.self, repeating: 0) }

    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        let target = take(bytes.count)
        if !bytes.isEmpty { target.copyMemory(from: bytes) }
    }
}

/// Little-endian reading with bounds checks: malformed input throws, it never traps.
struct ByteReader {
    struct Malformed: Error {}

    private let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func u8() throws(Malformed) -> UInt8 {
        guard remaining >= 1 else { throw Malformed() }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws(Malformed) -> UInt16 {
        UInt16(try fixed(2))
    }

    mutating func u32() throws(Malformed) -> UInt32 {
        UInt32(try fixed(4))
    }

    mutating func u64() throws(Malformed) -> UInt64 {
        try fixed(8)
    }

    mutating func i64() throws(Malformed) -> Int64 { Int64(bitPattern: try u64()) }

    mutating func string() throws(Malformed) -> String {
        let count = Int(try u16())
        return String(decoding: try take(count), as: UTF8.self)
    }

    mutating func blob() throws(Malformed) -> [UInt8]? {
        let count = try u32()
        if count == UInt32.max { return nil }
        return try take(Int(count))
    }

    /// Steps over a blob without copying it; `nil` blobs too.
    /// Skips a blob; returns its length (0 for an absent one).
    @discardableResult
    mutating func skipBlob() throws(Malformed) -> Int {
        let count = try u32()
        if count == UInt32.max { return 0 }
        guard Int(count) <= remaining else { throw Malformed() }
        position += Int(count)
        return Int(count)
    }

    mutating func take(_ count: Int) throws(Malformed) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw Malformed() }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func fixed(_ width: Int) throws(Malformed) -> UInt64 {
        guard remaining >= width else { throw Malformed() }
        var value: UInt64 = 0
        for index in (0..<width).reversed() {
            value = value << 8 | UInt64(bytes[position + index])
        }
        position += width
        return value
    }
}
