/// Standard base64 (RFC 4648 §4, `+` and `/`, padded), decoded strictly: a character outside the
/// alphabet, missing or misplaced padding, or non-zero leftover bits make the text invalid. Senders'
/// libraries that decode leniently let a mangled secret or signature through; this does not.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    /// Padded standard base64 of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            let chunk =
                (UInt32(bytes[index]) << 16) | (count > 1 ? UInt32(bytes[index + 1]) << 8 : 0)
                | (count > 2 ? UInt32(bytes[index + 2]) : 0)
            for position in 0..<4 {
                if position <= count {
                    out.append(alphabet[Int((chunk >> (18 - 6 * UInt32(position))) & 0x3F)])
                } else {
                    out.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of canonical, padded standard base64 text, or `nil` if it is anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var padding = 0
        if utf8.last == UInt8(ascii: "=") { padding += 1 }
        if utf8.count >= 2, utf8[utf8.count - 2] == UInt8(ascii: "=") { padding += 1 }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 4 * 3)
        var index = 0
        while index < utf8.count {
            let last = index + 4 == utf8.count
            var chunk: UInt32 = 0
            for position in 0..<4 {
                let character = utf8[index + position]
                let isPadding = last && position >= 4 - padding
                if isPadding {
                    guard character == UInt8(ascii: "=") else { return nil }
                    chunk <<= 6
                    continue
                }
                let value = values[Int(character)]
                guard value != 0xFF else { return nil }
                chunk = chunk << 6 | UInt32(value)
            }
            let produced = last ? 3 - padding : 3
            // Leftover bits under the padding must be zero, so each byte string has one spelling.
            if last, padding > 0, chunk & ((1 << (8 * UInt32(padding))) - 1) != 0 { return nil }
            for position in 0..<produced { out.append(UInt8(truncatingIfNeeded: chunk >> (16 - 8 * UInt32(position)))) }
            index += 4
        }
        return out
    }
}
