import CSystemShims

/// Host names and addresses as the relay's settings and `Host` headers carry them, parsed rather
/// than matched by prefix (`127.evil.example` is a name, not a loopback address).
enum HostAddress {
    /// Whether `host` is `localhost`, an IPv4 address in 127.0.0.0/8 or the IPv6 loopback `::1`
    /// (brackets allowed).
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        if let bytes = ipv4(host) { return bytes[0] == 127 }
        if let bytes = ipv6(unbracketed(host)) { return bytes == [UInt8](repeating: 0, count: 15) + [1] }
        return false
    }

    /// Whether `host` is an IPv4 or IPv6 address literal (brackets allowed), not a name.
    static func isAddressLiteral(_ host: String) -> Bool {
        ipv4(host) != nil || ipv6(unbracketed(host)) != nil
    }

    /// The host of an authority (`Host` header): `example.com:8081` → `example.com`,
    /// `[::1]:8081` → `[::1]`; `nil` when it is malformed.
    static func host(ofAuthority authority: String) -> String? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return String(authority[...close])
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, !name.isEmpty else { return nil }
        if parts.count == 2, parts[1].isEmpty || !parts[1].allSatisfy(\.isNumber) { return nil }
        return String(name)
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// The four bytes of a dotted-quad IPv4 address (`inet_pton`: exactly four decimal parts).
    private static func ipv4(_ text: String) -> [UInt8]? {
        address(text, count: 4)
    }

    private static func ipv6(_ text: String) -> [UInt8]? {
        address(text, count: 16)
    }

    /// The bytes of `text` when it is an address of `count` bytes. The system's parser is reached
    /// through CSystemShims: Swift's view of `in_addr` depends on which module loaded the system
    /// headers first, which changed with unrelated edits and broke the build.
    private static func address(_ text: String, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let parsed = bytes.withUnsafeMutableBufferPointer { relay_parse_ip_address(text, $0.baseAddress) }
        return Int(parsed) == count ? Array(bytes.prefix(count)) : nil
    }
}
