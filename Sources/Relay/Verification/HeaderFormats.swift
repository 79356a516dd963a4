/// The shape every event type must have: it becomes part of topic names and CloudEvents types.
public enum EventTypeName {
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

/// The shape of a sender's delivery id: it becomes `ce_id`, a log field and a dedup key.
public enum DeliveryID {
    /// The longest id accepted.
    public static let maximumLength = 200
    /// Human text of the rule, for error messages.
    public static let rule = "must be 1 to 200 printable ASCII characters without spaces"

    /// Whether `id` is 1…200 printable ASCII characters (0x21–0x7E).
    public static func isValid(_ id: String) -> Bool {
        let utf8 = id.utf8
        return !utf8.isEmpty && utf8.count <= maximumLength && utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

/// Unix timestamps in seconds, as senders put them in headers.
public enum UnixTimestamp {
    /// Parses 1 to 12 ASCII digits; anything else (signs, spaces, fractions, exponents) is refused.
    public static func parse(_ text: String) -> Int64? {
        let utf8 = text.utf8
        guard (1...12).contains(utf8.count) else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
