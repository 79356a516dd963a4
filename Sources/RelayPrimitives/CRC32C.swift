import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every framed record: it detects torn writes and bit rot,
/// and is what Kafka, ext4 and iSCSI use for the same purpose. With SSE 4.2's crc32 instruction
/// where the CPU has it (about four times faster), otherwise table-driven, eight bytes at a time.
public enum CRC32C {
    /// Whether this CPU computes CRC-32C in hardware.
    static let inHardware = relay_crc32c_hardware_available() != 0

    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[0][byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][byte]
                tables[slice][byte] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// The checksum of the bytes in `buffer`.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        guard inHardware else { return tableChecksum(buffer) }
        guard let base = buffer.baseAddress else { return 0 }
        return relay_crc32c_hardware(0xFFFF_FFFF, base, buffer.count) ^ 0xFFFF_FFFF
    }

    /// The checksum of `a` followed by `b`, from the checksums of each and the length of `b`, without
    /// reading either (zlib's `crc32_combine`, for the Castagnoli polynomial): a few hundred
    /// operations whatever the length, so a body checksummed once need not be read again.
    public static func combine(_ a: UInt32, _ b: UInt32, lengthOfB length: Int) -> UInt32 {
        multiply(xToThePower(8 * UInt64(length)), a) ^ b
    }

    private static let polynomial: UInt32 = 0x82F6_3B78

    /// `a` × `b` modulo the polynomial, in the reflected bit order of the checksum.
    private static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var product: UInt32 = 0
        var b = b
        var bit: UInt32 = 1 << 31
        while bit != 0 {
            if a & bit != 0 { product ^= b }
            bit >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }

    /// x^(2^k) modulo the polynomial, for k = 0 ..< 64.
    private static let powersOfTwo: [UInt32] = {
        var powers: [UInt32] = [1 << 30]  // x^1
        for _ in 1..<64 { powers.append(multiply(powers[powers.count - 1], powers[powers.count - 1])) }
        return powers
    }()

    /// x^n modulo the polynomial.
    private static func xToThePower(_ n: UInt64) -> UInt32 {
        var result: UInt32 = 1 << 31  // x^0
        var n = n
        var k = 0
        while n != 0 {
            if n & 1 != 0 { result = multiply(powersOfTwo[k], result) }
            n >>= 1
            k += 1
        }
        return result
    }

    /// The checksum computed with the tables (what a CPU without SSE 4.2 uses).
    static func tableChecksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        var index = 0
        let count = buffer.count
        tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0]
            let t1 = tables[1]
            let t2 = tables[2]
            let t3 = tables[3]
            let t4 = tables[4]
            let t5 = tables[5]
            let t6 = tables[6]
            let t7 = tables[7]
            while count - index >= 8 {
                let low =
                    crc
                    ^ (UInt32(buffer[index]) | UInt32(buffer[index + 1]) << 8
                        | UInt32(buffer[index + 2]) << 16 | UInt32(buffer[index + 3]) << 24)
                crc =
                    t7[Int(low & 0xFF)] ^ t6[Int((low >> 8) & 0xFF)] ^ t5[Int((low >> 16) & 0xFF)]
                    ^ t4[Int(low >> 24)] ^ t3[Int(buffer[index + 4])] ^ t2[Int(buffer[index + 5])]
                    ^ t1[Int(buffer[index + 6])] ^ t0[Int(buffer[index + 7])]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(buffer[index])) & 0xFF)]
                index += 1
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
