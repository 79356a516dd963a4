import NIOCore
import Testing

@testable import Relay

@Suite("The peer address a scheme sees")
struct PeerAddressTests {
    @Test(
        "IPv4 and IPv6 peers are written as their address alone",
        arguments: [("127.0.0.1", 54_321), ("203.0.113.9", 443), ("::1", 8080), ("2001:db8::7", 1)]
    )
    func address(_ ip: String, _ port: Int) throws {
        let address = try SocketAddress(ipAddress: ip, port: port)
        #expect(IngressRequestContext.ipAddress(of: address) == ip)
    }

    @Test("A Unix socket peer has no IP address")
    func unixSocket() throws {
        let address = try SocketAddress(unixDomainSocketPath: "/tmp/relay.sock")
        #expect(IngressRequestContext.ipAddress(of: address) == nil)
    }
}
