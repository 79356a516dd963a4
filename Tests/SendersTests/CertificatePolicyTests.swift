import SenderCertificates
import SenderKit
import Testing

/// The rules a certificate URL from a request must pass before the relay fetches anything, and the
/// addresses a certificate host may resolve to.
@Suite("Certificate URLs and addresses")
struct CertificatePolicyTests {
    static let sns = try! CertificateURLPolicy(prefixes: [
        "https://sns.*.amazonaws.com/SimpleNotificationService-",
        "https://sns.*.amazonaws.com.cn/SimpleNotificationService-",
    ])

    @Test("SNS's own certificate URLs pass, in any region and in China")
    func allowed() throws {
        for url in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://SNS.eu-west-3.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        ] {
            #expect(try Self.sns.check(url).port == 443, "\(url)")
        }
    }

    @Test(
        "Look-alike hosts, other schemes, ports, paths, users, queries, escapes and dot segments are refused",
        arguments: [
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-a.pem",
            "https://sns.us-east-1.evil.amazonaws.com/SimpleNotificationService-a.pem",
            "https://sns..amazonaws.com/SimpleNotificationService-a.pem",
            "https://sns.us_east.amazonaws.com/SimpleNotificationService-a.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
            "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-a.pem",
            "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
            "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-a.pem",
            "https://sns.us-east-1.amazonaws.com/other.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem?x=1",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem#f",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-%2e%2e/x.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-/../x.pem",
            "https://sns.us-east-1.amazonaws.com\\@evil.example/SimpleNotificationService-a.pem",
            "not a url",
            "",
        ]
    )
    func refused(_ url: String) {
        #expect(throws: WebhookRejection.self) { try Self.sns.check(url) }
    }

    @Test("A prefix whose wildcard is not a whole label, or that is not https, stops the start")
    func badPrefixes() {
        for prefix in ["http://sns.*.amazonaws.com/", "https://sns-*.amazonaws.com/", "https://sns.amazonaws.*/", "x"] {
            #expect(throws: CertificateURLPolicy.PrefixError.self, "\(prefix)") {
                try CertificateURLPolicy(prefixes: [prefix])
            }
        }
    }

    @Test(
        "Loopback, private, shared, link-local (cloud metadata), documentation and multicast addresses are not public"
    )
    func addresses() {
        for address in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
            "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.1", "::1", "::", "fd00::1", "fe80::1",
            "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2001:db8::1", "not-an-ip",
        ] {
            #expect(!HostAddresses.isPublic(address), "\(address)")
        }
        for address in ["54.239.28.85", "172.32.0.1", "8.8.8.8", "2600:1f18::1", "::ffff:54.239.28.85"] {
            #expect(HostAddresses.isPublic(address), "\(address)")
        }
    }
}
