/// The shape of Docutray's event types (`CONVERSION_COMPLETED`): they become part of topic names and
/// CloudEvents types.
public enum DocutrayEventType {
    /// Human text of the rule, for error messages.
    public static let rule = "must match ^[A-Z][A-Z0-9_]{0,99}$"

    /// Whether `name` matches `^[A-Z][A-Z0-9_]{0,99}$`.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first), utf8.count <= 100 else {
            return false
        }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}
