import Foundation

/// A path to a member of a JSON document (RFC 6901), e.g. `/data/object/id`. Every segment names an
/// object member; array elements are not addressed (no sender puts an id there).
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The member names from the top down, unescaped (`~1` → `/`, `~0` → `~`).
    public let segments: [[UInt8]]
    /// The pointer as written, e.g. `/data/object/id`.
    public let description: String

    /// Parses `/a/b`; `nil` for text that does not start with `/` or has an empty segment or a
    /// broken `~` escape.
    public init?(_ text: String) {
        guard text.hasPrefix("/"), text.count > 1 else { return nil }
        var segments: [[UInt8]] = []
        for part in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { return nil }
            var segment: [UInt8] = []
            var escaping = false
            for byte in part.utf8 {
                if escaping {
                    switch byte {
                    case UInt8(ascii: "0"): segment.append(UInt8(ascii: "~"))
                    case UInt8(ascii: "1"): segment.append(UInt8(ascii: "/"))
                    default: return nil
                    }
                    escaping = false
                } else if byte == UInt8(ascii: "~") {
                    escaping = true
                } else {
                    segment.append(byte)
                }
            }
            guard !escaping else { return nil }
            segments.append(segment)
        }
        self.segments = segments
        self.description = text
    }

    /// The pointer to the top-level member `name`.
    public init(member name: String) {
        self.segments = [Array(name.utf8)]
        // Most names need no escaping; Foundation's replacing is slow enough to show per request.
        let needsEscaping = name.utf8.contains { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }
        self.description =
            needsEscaping
            ? "/" + name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            : "/" + name
    }

    /// Human text of the syntax, for error messages.
    public static let rule = "must be a JSON pointer such as /data/object/id"
}

extension JSONPointer: ExpressibleByStringLiteral {
    /// A pointer written in code; the literal must be valid.
    public init(stringLiteral text: String) {
        guard let pointer = JSONPointer(text) else { preconditionFailure("'\(text)' is not a JSON pointer") }
        self = pointer
    }
}
