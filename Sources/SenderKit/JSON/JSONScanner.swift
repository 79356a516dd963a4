/// The JSON documents a body may be.
public enum JSONShape: Sendable, Hashable {
    case object
    case array
    case objectOrArray

    /// What the body should have been, for error messages.
    var expected: String {
        switch self {
        case .object: "a JSON object ('{')"
        case .array: "a JSON array ('[')"
        case .objectOrArray: "a JSON object or array"
        }
    }
}

/// Why a body is not the JSON document expected.
public struct JSONScanError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset where the problem was found.
    public var offset: Int
    /// What is wrong, in words.
    public var reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A validating, allocation-free single pass over JSON text (RFC 8259) that checks the document is
/// one object and picks out a few top-level members, without building a tree and without ever
/// re-serializing the bytes (the relay forwards the body byte for byte).
public struct JSONScanner {
    /// How deeply objects and arrays may nest; deeper documents are refused, not parsed.
    public static let maximumDepth = 64

    /// Checks that `bytes` is exactly one JSON object and returns the text of the wanted top-level
    /// members whose value is a string or a number (strings unescaped, numbers as written).
    public static func scanObject(
        _ bytes: [UInt8],
        capturing wanted: [String] = []
    ) throws(JSONScanError) -> [String: String] {
        let values = try scan(bytes, capturing: wanted.map { JSONPointer(member: $0) })
        var captured: [String: String] = [:]
        for (name, value) in zip(wanted, values) { captured[name] = value }
        return captured
    }

    /// Checks that `bytes` is exactly one JSON object and returns, for each pointer, the text of the
    /// string or number it points to (strings unescaped, numbers as written), or `nil`.
    public static func scan(_ bytes: [UInt8], capturing wanted: [JSONPointer]) throws(JSONScanError) -> [String?] {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONScanError) -> [String?] in
                var scanner = JSONScanner(bytes: buffer, wanted: wanted.map(\.segments))
                try scanner.scanDocument()
                return scanner.captured
            }
        }
        return try result.get()
    }

    /// What one pass over a document found.
    public struct Document: Sendable, Hashable {
        /// For each wanted pointer, the text of the string or number there, or `nil`.
        public var values: [String?]
        /// Where each element of the array asked for lies in the bytes (the document's own, when
        /// it is an array), in order; empty when there is no such array.
        public var elements: [Range<Int>]
    }

    /// Checks that `bytes` is one JSON document of `shape` and returns the wanted values, and the
    /// byte ranges of the elements of the array at `elementsAt` (or of the document, when it is an
    /// array): the items of a batch, exactly as sent.
    public static func scan(
        _ bytes: [UInt8],
        capturing wanted: [JSONPointer],
        shape: JSONShape,
        elementsAt arrayPointer: JSONPointer? = nil
    ) throws(JSONScanError) -> Document {
        let segments = wanted.map(\.segments) + (arrayPointer.map { [$0.segments] } ?? [])
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONScanError) -> Document in
                var scanner = JSONScanner(
                    bytes: buffer,
                    wanted: segments,
                    shape: shape,
                    arrayIndex: arrayPointer == nil ? nil : wanted.count
                )
                try scanner.scanDocument()
                return Document(values: Array(scanner.captured.prefix(wanted.count)), elements: scanner.elements)
            }
        }
        return try result.get()
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    /// The wanted pointers' segments.
    private let wanted: [[[UInt8]]]
    private let shape: JSONShape
    /// The index in `wanted` of the array whose elements are recorded.
    private let arrayIndex: Int?
    private var position = 0
    private var depth = 0
    private var captured: [String?]
    private var elements: [Range<Int>] = []

    private init(
        bytes: UnsafeBufferPointer<UInt8>,
        wanted: [[[UInt8]]],
        shape: JSONShape = .object,
        arrayIndex: Int? = nil
    ) {
        self.bytes = bytes
        self.wanted = wanted
        self.shape = shape
        self.arrayIndex = arrayIndex
        self.captured = Array(repeating: nil, count: wanted.count)
    }

    private mutating func scanDocument() throws(JSONScanError) {
        skipWhitespace()
        guard position < bytes.count else { throw error("the body is empty; expected \(shape.expected)") }
        switch bytes[position] {
        case UInt8(ascii: "{") where shape != .array:
            try scanObject(level: 0, candidates: Array(wanted.indices))
        case UInt8(ascii: "[") where shape != .object:
            try scanArray(recording: true)
        default:
            throw error("expected \(shape.expected)")
        }
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected data after the JSON document") }
    }

    // MARK: Values

    private mutating func scanValue() throws(JSONScanError) {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try scanObject(level: 0, candidates: [])
        case UInt8(ascii: "["): try scanArray()
        case UInt8(ascii: "\""): _ = try scanString(decode: false)
        case UInt8(ascii: "t"): try scanLiteral("true")
        case UInt8(ascii: "f"): try scanLiteral("false")
        case UInt8(ascii: "n"): try scanLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        default: throw error("unexpected character in JSON")
        }
    }

    /// Scans an object at `level` of the document; `candidates` are the wanted pointers whose first
    /// `level` segments lead here.
    private mutating func scanObject(level: Int, candidates: [Int]) throws(JSONScanError) {
        try enter()
        position += 1  // {
        skipWhitespace()
        if consume(UInt8(ascii: "}")) {
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a member name in double quotes")
            }
            let nameStart = position + 1
            _ = try scanString(decode: false)
            let nameEnd = position - 1
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw error("expected ':' after a member name") }
            skipWhitespace()
            if !candidates.isEmpty, nameStart <= nameEnd {
                try scanMember(named: nameStart..<nameEnd, level: level, candidates: candidates)
            } else {
                try scanValue()
            }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            guard consume(UInt8(ascii: "}")) else { throw error("expected ',' or '}' in an object") }
            depth -= 1
            return
        }
    }

    /// Scans an array; `recording` keeps where each element lies.
    private mutating func scanArray(recording: Bool = false) throws(JSONScanError) {
        try enter()
        position += 1  // [
        skipWhitespace()
        if consume(UInt8(ascii: "]")) {
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            let start = position
            try scanValue()
            if recording { elements.append(start..<position) }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            guard consume(UInt8(ascii: "]")) else { throw error("expected ',' or ']' in an array") }
            depth -= 1
            return
        }
    }

    /// Scans the value of a member whose name may continue some wanted pointers.
    private mutating func scanMember(named name: Range<Int>, level: Int, candidates: [Int]) throws(JSONScanError) {
        let nameBytes = UnsafeBufferPointer(rebasing: bytes[name])
        // Member names with escapes are compared raw; the id and type fields never contain any.
        var exact: [Int] = []
        var deeper: [Int] = []
        for index in candidates {
            let segments = wanted[index]
            guard segments.count > level, segments[level].elementsEqual(nameBytes) else { continue }
            if segments.count == level + 1 { exact.append(index) } else { deeper.append(index) }
        }
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "{") where !deeper.isEmpty:
            try scanObject(level: level + 1, candidates: deeper)
        case UInt8(ascii: "[") where arrayIndex.map(exact.contains) == true:
            try scanArray(recording: true)
        case UInt8(ascii: "\""):
            let text = try scanString(decode: !exact.isEmpty)
            for index in exact { captured[index] = text }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
            if !exact.isEmpty {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                for index in exact { captured[index] = text }
            }
        default:
            try scanValue()
        }
    }

    private mutating func enter() throws(JSONScanError) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw error("JSON nests deeper than \(Self.maximumDepth) levels")
        }
    }

    // MARK: Tokens

    private mutating func scanLiteral(_ literal: StaticString) throws(JSONScanError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of JSON") }
        let text = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        guard text.elementsEqual(bytes[position..<position + count]) else { throw error("invalid literal") }
        position += count
    }

    private mutating func scanNumber() throws(JSONScanError) {
        _ = consume(UInt8(ascii: "-"))
        guard position < bytes.count else { throw error("unexpected end of JSON in a number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            guard skipDigits() > 0 else { throw error("invalid number") }
        }
        if consume(UInt8(ascii: ".")) {
            guard skipDigits() > 0 else { throw error("expected digits after the decimal point") }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if !(consume(UInt8(ascii: "+"))) { _ = consume(UInt8(ascii: "-")) }
            guard skipDigits() > 0 else { throw error("expected digits in the exponent") }
        }
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            position += 1
        }
        return position - start
    }

    /// Scans a string starting at its opening quote; returns its decoded text when `decode` is set.
    private mutating func scanString(decode: Bool) throws(JSONScanError) -> String? {
        position += 1  // opening quote
        var decoded: [UInt8] = []
        var runStart = position
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                if decode { decoded.append(contentsOf: bytes[runStart..<position]) }
                position += 1
                return decode ? String(decoding: decoded, as: UTF8.self) : nil
            case UInt8(ascii: "\\"):
                if decode { decoded.append(contentsOf: bytes[runStart..<position]) }
                let scalar = try scanEscape()
                if decode { decoded.append(contentsOf: String(scalar).utf8) }
                runStart = position
            case 0..<0x20:
                throw error("control character in a string")
            case 0..<0x80:
                position += 1
                position = skipPlainASCII(from: position)
            default:
                try skipUTF8Sequence()
            }
        }
        throw error("unterminated string")
    }

    /// The first index at or after `start` whose byte is not plain string text: a quote, a backslash,
    /// a control character or a non-ASCII byte (or the end). Reads eight bytes at a time, since long
    /// runs of plain text are most of most bodies; the byte-by-byte loop in `scanString` handles what
    /// this stops at.
    private func skipPlainASCII(from start: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        /// The high bit of every byte of `word` that is zero (exact for the lowest such byte, which is
        /// all that matters here: any set bit stops the run).
        func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }
        var index = start
        guard let base = bytes.baseAddress else { return index }
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let stops =
                (word & highs)  // non-ASCII
                | ((word &- ones &* 0x20) & ~word & highs)  // below 0x20
                | zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
                | zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
            if stops != 0 { return index + (stops.trailingZeroBitCount >> 3) }
            index += 8
        }
        return index
    }

    /// Scans one escape sequence after a backslash and returns the character it stands for.
    private mutating func scanEscape() throws(JSONScanError) -> Unicode.Scalar {
        position += 1  // backslash
        guard position < bytes.count else { throw error("unterminated escape") }
        let simple: UInt8?
        switch bytes[position] {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw error("invalid escape in a string")
        }
        if let simple {
            position += 1
            return Unicode.Scalar(simple)
        }
        position += 1
        var scalar = try hexQuad()
        if (0xD800...0xDBFF).contains(scalar), position + 1 < bytes.count,
            bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
        {
            let save = position
            position += 2
            let low = try hexQuad()
            if (0xDC00...0xDFFF).contains(low) {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
                position = save
            }
        }
        // A lone surrogate is valid JSON text but no character; it decodes as U+FFFD.
        return Unicode.Scalar(scalar) ?? "\u{FFFD}"
    }

    private mutating func hexQuad() throws(JSONScanError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Checks one multi-byte UTF-8 sequence (no overlongs, no surrogates, nothing past U+10FFFF).
    private mutating func skipUTF8Sequence() throws(JSONScanError) {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: throw error("invalid UTF-8")
        }
        guard position + length <= bytes.count, secondRange.contains(bytes[position + 1]) else {
            throw error("invalid UTF-8")
        }
        for index in 2..<length where !(0x80...0xBF).contains(bytes[position + index]) {
            throw error("invalid UTF-8")
        }
        position += length
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private func error(_ reason: String) -> JSONScanError {
        JSONScanError(offset: position, reason: reason)
    }
}
