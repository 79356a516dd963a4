import Crypto

/// HMAC-SHA256 signatures written as `sha256=<lowercase hex>`, the form Docutray (and many other
/// senders) use in headers.
public enum HMACSignature {
    /// The prefix of every signature header value.
    public static let prefix = "sha256="

    /// `sha256=` + lowercase hex of HMAC-SHA256(key, message).
    public static func sign(_ message: [UInt8], key: SigningKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key.key)
        return prefix + Hex.encode(mac)
    }

    /// Parses a header value into the 32 signature bytes, or `nil` if it is not `sha256=` + 64 hex digits.
    public static func parse(_ headerValue: String) -> [UInt8]? {
        var utf8 = Substring(headerValue).utf8
        guard utf8.starts(with: prefix.utf8) else { return nil }
        utf8 = utf8.dropFirst(prefix.utf8.count)
        guard utf8.count == SHA256.byteCount * 2 else { return nil }
        return Hex.decode(utf8)
    }

    /// Whether `expected` is the HMAC of `message` under any of `keys`.
    ///
    /// Every key is tried and the comparison never stops at the first differing byte, so the time
    /// taken does not reveal how much of a forged signature was right.
    public static func matches(_ expected: [UInt8], message: [UInt8], keys: [SigningKey]) -> Bool {
        var matched = false
        for key in keys {
            let mac = HMAC<SHA256>.authenticationCode(for: message, using: key.key)
            matched = constantTimeEquals(mac, expected) || matched
        }
        return matched
    }

    /// Compares two byte sequences in time that depends only on their lengths.
    public static func constantTimeEquals(_ lhs: some Sequence<UInt8>, _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = 0
        var count = 0
        for (index, byte) in lhs.enumerated() {
            difference |= byte ^ (index < rhs.count ? rhs[index] : 0)
            count += 1
        }
        return difference == 0 && count == rhs.count
    }
}

/// A secret prepared for HMAC.
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value (its storage is never mutated after
/// creation); swift-crypto 3 just does not declare it `Sendable`.
public struct SigningKey: @unchecked Sendable {
    let key: SymmetricKey

    /// The key made of the UTF-8 bytes of `secret`.
    public init(secret: String) {
        key = SymmetricKey(data: Array(secret.utf8))
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

    /// Bytes of an even-length hex string (either case), or `nil` if any character is not a hex digit.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for character in text {
            guard let nibble = value(of: character) else { return nil }
            if let pending = high {
                out.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out
    }

    private static func value(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
