import Testing

@testable import RelayPrimitives

@Suite("CRC-32C of record frames")
struct CRC32CTests {
    @Test("The standard check value: CRC-32C of \"123456789\" is 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("Hardware and tables agree at every length and alignment, so frames read on any CPU")
    func hardwareAgreesWithTables() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(1 << 20) + 7).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { all in
            for offset in 0..<8 {
                for count in Array(0..<300) + [4095, 65_537, (1 << 20) - 1] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])
                    #expect(CRC32C.checksum(slice) == CRC32C.tableChecksum(slice), "offset \(offset), \(count) bytes")
                }
            }
        }
    }

    @Test("Two checksums combine into the checksum of the joined bytes, at every split and length")
    func combine() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(1 << 20) + 13).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { all in
            for count in [0, 1, 2, 7, 64, 1000, 4096, 70_001, 1 << 20] {
                for split in Set([0, 1, count / 3, count / 2, max(0, count - 1), count]) where split <= count {
                    let whole = UnsafeRawBufferPointer(rebasing: all[0..<count])
                    let head = UnsafeRawBufferPointer(rebasing: all[0..<split])
                    let tail = UnsafeRawBufferPointer(rebasing: all[split..<count])
                    let combined = CRC32C.combine(CRC32C.checksum(head), CRC32C.checksum(tail), lengthOfB: tail.count)
                    #expect(combined == CRC32C.checksum(whole), "\(count) bytes split at \(split)")
                }
            }
        }
    }
}
