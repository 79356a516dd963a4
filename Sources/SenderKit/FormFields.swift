/// The fields of an `application/x-www-form-urlencoded` body (WHATWG URL standard), decoded: `+`
/// is a space and `%XX` a byte, and the result must be UTF-8. The body itself is never changed;
/// this is what a scheme reads, e.g. to sign Twilio's fields or find an event's type.
public struct FormFields: Sendable, Hashable {
    /// Every field in the order sent; a name may repeat.
    public let fields: [(name: String, value: String)]

    /// Decodes `encoded`; `nil` when a `%` is not followed by two hex digits or a name or value is
    /// not UTF-8 once decoded.
    public init?(encoded: [UInt8]) {
        var fields: [(name: String, value: String)] = []
        for pair in encoded.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            guard let name = Self.decode(pair[..<(equals ?? pair.endIndex)]),
                let value = Self.decode(equals.map { pair[pair.index(after: $0)...] } ?? [])
            else { return nil }
            fields.append((name, value))
        }
        self.fields = fields
    }

    /// The first value of `name`, or `nil`.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }

    private static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let high = bytes.index(after: index)
                guard high < bytes.endIndex else { return nil }
                let low = bytes.index(after: high)
                guard low < bytes.endIndex, let first = Hex.value(of: bytes[high]),
                    let second = Hex.value(of: bytes[low])
                else { return nil }
                decoded.append(first << 4 | second)
                index = bytes.index(after: low)
                continue
            }
            decoded.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = bytes.index(after: index)
        }
        return String(validating: decoded, as: UTF8.self)
    }
}
