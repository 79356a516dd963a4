/// Writes small JSON documents (answers, handshake replies, envelopes) straight into bytes, without
/// `JSONEncoder`.
public enum JSONText {
    /// Appends `text` as a JSON string literal, escaping what RFC 8259 requires.
    public static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A flat JSON object of string, integer and boolean members, in the given order.
    public static func object(_ members: KeyValuePairs<String, JSONScalar>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(members.reduce(2) { $0 + $1.key.utf8.count + 8 + $1.value.estimatedSize })
        output.append(UInt8(ascii: "{"))
        for (index, (name, value)) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            appendString(name, to: &output)
            output.append(UInt8(ascii: ":"))
            switch value {
            case .string(let text): appendString(text, to: &output)
            case .int(let number): output.append(contentsOf: String(number).utf8)
            case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
            }
        }
        output.append(UInt8(ascii: "}"))
        return output
    }
}

/// A scalar member value for ``JSONText/object(_:)``.
public enum JSONScalar: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)

    /// About how many bytes the value takes (exact unless a string needs escapes), so an answer is
    /// written into one allocation.
    public var estimatedSize: Int {
        switch self {
        case .string(let text): text.utf8.count
        case .int: 20
        case .bool: 5
        }
    }
}
