import CSystemShims
import NIOPosix
import SenderKit

/// Resolving a certificate host, and telling public addresses from the ones a request must never
/// make the relay reach (loopback, private networks, link-local and cloud metadata, multicast).
public enum HostAddresses {
    /// The addresses of `host`, resolved by the system on NIO's blocking-I/O pool.
    /// - Throws: ``WebhookRejection/certificateUnavailable(reason:retryAfter:)`` when the name does
    ///   not resolve now.
    public static func resolve(_ host: String) async throws(WebhookRejection) -> [String] {
        let result = try? await NIOThreadPool.singleton.runIfActive { () -> [String] in
            var buffer = [CChar](repeating: 0, count: 2048)
            let count = relay_resolve_host(host, &buffer, Int32(buffer.count))
            guard count > 0 else { return [] }
            let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            return text.split(separator: "\n").map(String.init)
        }
        guard let result, !result.isEmpty else {
            throw .certificateUnavailable(reason: "\(host.prefix(100)) does not resolve", retryAfter: 30)
        }
        return result
    }

    /// Whether `address` (numeric text) is one the public internet routes: not unspecified,
    /// loopback, RFC 1918 or unique-local, shared (100.64/10), link-local (169.254/16, where cloud
    /// metadata services answer; fe80::/10), benchmarking, documentation, multicast or reserved.
    /// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
    public static func isPublic(_ address: String) -> Bool {
        var bytes = [UInt8](repeating: 0, count: 16)
        let length = relay_parse_ip_address(address, &bytes)
        switch length {
        case 4: return isPublicIPv4(Array(bytes[0..<4]))
        case 16:
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return isPublicIPv4(Array(bytes[12..<16]))
            }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
            if bytes[0] & 0xFE == 0xFC { return false }  // fc00::/7, unique local
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return false }  // fe80::/10, link local
            if bytes[0] == 0xFF { return false }  // multicast
            if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B {
                return isPublicIPv4(Array(bytes[12..<16]))  // 64:ff9b::/96, NAT64
            }
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return false }
            return true
        default: return false
        }
    }

    private static func isPublicIPv4(_ bytes: [UInt8]) -> Bool {
        let (a, b, c) = (bytes[0], bytes[1], bytes[2])
        switch a {
        case 0, 10, 127: return false
        case 100 where b & 0xC0 == 64: return false  // 100.64.0.0/10
        case 169 where b == 254: return false
        case 172 where b & 0xF0 == 16: return false
        case 192 where b == 168: return false
        case 192 where b == 0 && (c == 0 || c == 2): return false
        case 198 where b & 0xFE == 18: return false  // 198.18.0.0/15
        case 198 where b == 51 && c == 100, 203 where b == 0 && c == 113: return false
        case 224...255: return false
        default: return true
        }
    }
}
