import Crypto
import RelayPrimitives

/// The hash functions a sender may sign with.
public enum HMACAlgorithm: String, Sendable, CaseIterable {
    case sha1
    case sha256
    case sha512

    /// Bytes of one authentication code.
    public var byteCount: Int {
        switch self {
        case .sha1: Insecure.SHA1.byteCount
        case .sha256: SHA256.byteCount
        case .sha512: SHA512.byteCount
        }
    }
}

/// A secret prepared for HMAC under one algorithm. SHA-256 keys keep their padded states
/// (``SigningKey``), so the common case costs no key schedule per request.
public struct HMACKey: Sendable {
    public let algorithm: HMACAlgorithm
    private let prepared: SigningKey?
    private let bytes: [UInt8]

    /// The key made of `bytes` (for secrets that are not used as their UTF-8 text).
    public init(bytes: [UInt8], algorithm: HMACAlgorithm = .sha256) {
        self.algorithm = algorithm
        self.bytes = bytes
        self.prepared = algorithm == .sha256 ? SigningKey(bytes: bytes) : nil
    }

    /// The key made of the UTF-8 bytes of `secret`.
    public init(secret: String, algorithm: HMACAlgorithm = .sha256) {
        self.init(bytes: Array(secret.utf8), algorithm: algorithm)
    }

    /// The authentication code of `message`.
    public func code(for message: UnsafeRawBufferPointer) -> [UInt8] {
        if let prepared { return Array(prepared.authenticationCode(for: message)) }
        let key = SymmetricKey(data: bytes)
        switch algorithm {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    /// The authentication code of `message`.
    public func code(for message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { code(for: $0) }
    }

    /// Whether any of `candidates` is the code of `message` under any of `keys`.
    ///
    /// Every key and every candidate is tried, and bytes are compared without stopping at the
    /// first difference, so the time taken does not reveal which candidate came close.
    public static func anyMatches(
        _ candidates: [[UInt8]],
        message: UnsafeRawBufferPointer,
        keys: [HMACKey]
    ) -> Bool {
        var matched = false
        for key in keys {
            let code = key.code(for: message)
            for candidate in candidates {
                matched = ConstantTime.equals(candidate, code) || matched
            }
        }
        return matched
    }
}

/// Signature headers written as a fixed prefix and the lowercase hex of an HMAC-SHA256 (`v0=…`
/// for Slack and Zoom, `sha256=…` for Twitch, none for Linear).
public enum PrefixedHexSignature {
    /// Checks that `value` is `prefix` followed by 64 lowercase hex digits that are the code of
    /// `message` under any of `keys`.
    /// - Throws: ``WebhookRejection/badSignature(header:reason:)`` naming `header`.
    public static func verify(
        _ value: String,
        prefix: String,
        message: [UInt8],
        keys: [HMACKey],
        header: String
    ) throws(WebhookRejection) {
        guard value.hasPrefix(prefix), value.utf8.count == prefix.utf8.count + 2 * SHA256.byteCount,
            let code = Hex.decode(value.dropFirst(prefix.count), lowercaseOnly: true)
        else {
            let shape = prefix.isEmpty ? "64 lowercase hex digits" : "'\(prefix)' followed by 64 lowercase hex digits"
            throw .badSignature(header: header, reason: "is not \(shape)")
        }
        let matched = message.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: header, reason: "does not match under any active secret") }
    }

    /// `prefix` + lowercase hex of HMAC-SHA256(key, message), as the sender writes it.
    public static func sign(_ message: [UInt8], prefix: String, key: HMACKey) -> String {
        prefix + Hex.encode(key.code(for: message))
    }
}
