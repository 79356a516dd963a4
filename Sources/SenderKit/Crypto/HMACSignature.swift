import Crypto

/// HMAC-SHA256 signatures written as `sha256=<lowercase hex>`, the form many senders use in headers.
public enum HMACSignature {
    /// The prefix of every signature header value.
    public static let prefix = "sha256="

    /// `sha256=` + lowercase hex of HMAC-SHA256(key, message).
    public static func sign(_ message: [UInt8], key: SigningKey) -> String {
        prefix + Hex.encode(message.withUnsafeBytes { key.authenticationCode(for: $0) })
    }

    /// Whether a header value is `sha256=` followed by 64 hex digits (either case).
    public static func isWellFormed(_ headerValue: String) -> Bool {
        withUTF8(headerValue) { utf8 in
            utf8.count == prefixBytes.count + SHA256.byteCount * 2 && utf8.starts(with: prefixBytes)
                && utf8[prefixBytes.count...].allSatisfy { Hex.value(of: $0) != nil }
        }
    }

    /// Whether the well-formed header value `signature` is the HMAC of `message` under any of `keys`.
    ///
    /// Every key is tried and the comparison never stops at the first differing byte, so the time
    /// taken does not reveal how much of a forged signature was right. Nothing is allocated: the hex
    /// digits are compared with the computed code as they are read.
    public static func matches(_ signature: String, message: UnsafeRawBufferPointer, keys: [SigningKey]) -> Bool {
        precondition(isWellFormed(signature), "matches(_:message:keys:) needs a well-formed signature")
        return withUTF8(signature) { utf8 in
            let hex = UnsafeBufferPointer(rebasing: utf8[prefixBytes.count...])
            var matched = false
            for key in keys {
                var difference: UInt8 = 0
                key.authenticationCode(for: message).withUnsafeBytes { code in
                    for index in 0..<code.count {
                        let high = Hex.value(of: hex[2 * index]) ?? 0
                        let low = Hex.value(of: hex[2 * index + 1]) ?? 0
                        difference |= code[index] ^ (high << 4 | low)
                    }
                }
                matched = (difference == 0) || matched
            }
            return matched
        }
    }

    private static let prefixBytes = Array(prefix.utf8)

    /// Runs `body` over the UTF-8 bytes of `text`, contiguous (native strings need no copy).
    private static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }
}

/// A secret prepared for HMAC-SHA256 (RFC 2104).
///
/// The SHA-256 states after the key's inner and outer pads are computed once, so a signature costs
/// the message's blocks plus two, with no key schedule per request.
///
/// `@unchecked Sendable`: the two states are never mutated after creation; `SHA256` copies its
/// context on write, so every signature works on its own copy. swift-crypto 3 just does not declare
/// the type `Sendable`.
public struct SigningKey: @unchecked Sendable {
    private let inner: SHA256
    private let outer: SHA256

    /// The key made of the UTF-8 bytes of `secret`.
    public init(secret: String) {
        self.init(bytes: Array(secret.utf8))
    }

    /// The key made of `bytes`.
    public init(bytes: [UInt8]) {
        let blockSize = 64
        var key = bytes
        if key.count > blockSize { key = Array(SHA256.hash(data: key)) }
        key += repeatElement(0, count: blockSize - key.count)
        var inner = SHA256()
        inner.update(data: key.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: key.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// HMAC-SHA256 of `message` under this key.
    public func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of an even-length hex string, or `nil` if any character is not a hex digit (or, with
    /// `lowercaseOnly`, is an uppercase one: senders that compare signatures as text refuse those).
    public static func decode(_ text: some StringProtocol, lowercaseOnly: Bool = false) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        for index in stride(from: 0, to: utf8.count, by: 2) {
            if lowercaseOnly, utf8[index...index + 1].contains(where: { (0x41...0x46).contains($0) }) { return nil }
            guard let high = value(of: utf8[index]), let low = value(of: utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    /// The value of one hex digit (either case), or `nil`.
    public static func value(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
