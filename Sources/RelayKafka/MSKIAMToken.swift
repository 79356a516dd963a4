import Crypto
import Foundation
import RelayPrimitives

/// AWS credentials, as the default chain finds them (environment, web identity, instance
/// metadata…).
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Set for temporary credentials (an assumed role, a web identity, instance metadata).
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// The token Amazon MSK's IAM access control takes as a SASL/OAUTHBEARER token: a SigV4-presigned
/// `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`, valid 900 s, with a
/// `User-Agent` parameter added after signing, as base64url without padding. Built as AWS's
/// `aws-msk-iam-sasl-signer-python` builds it (the tests compare the two byte for byte).
public enum MSKIAMToken {
    /// How long a token is valid, in seconds (`X-Amz-Expires`).
    public static let lifetime: Int64 = 900

    /// The token for `credentials` in `region`, signed at `time` (Unix seconds), and when it
    /// expires (Unix milliseconds, as librdkafka's `rd_kafka_oauthbearer_set_token` takes it).
    public static func make(
        region: String,
        credentials: AWSCredentials,
        at time: Int64,
        userAgent: String
    ) -> (token: String, expiresAtMilliseconds: Int64) {
        let host = "kafka.\(region).amazonaws.com"
        let stamp = RFC3339.format(unixSeconds: time).filter { $0 != "-" && $0 != ":" }
        let day = String(stamp.prefix(8))
        let scope = "\(day)/\(region)/kafka-cluster/aws4_request"
        // In the order the signer writes them; the canonical query sorts them.
        var parameters: [(String, String)] = [
            ("Action", "kafka-cluster:Connect"), ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"), ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(lifetime)), ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        let canonicalQuery = parameters.sorted { $0.0 < $1.0 }.map { "\(encode($0.0))=\(encode($0.1))" }
            .joined(separator: "&")
        let emptyPayload = Hex.lowercase(SHA256.hash(data: [UInt8]()))
        let canonicalRequest = "GET\n/\n\(canonicalQuery)\nhost:\(host)\n\nhost\n\(emptyPayload)"
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp, scope, Hex.lowercase(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, "kafka-cluster", "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        parameters += [("X-Amz-Signature", signature), ("User-Agent", userAgent)]
        let url = "https://\(host)/?" + parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        let token = base64URL(Array(url.utf8))
        return (token, (time + lifetime) * 1000)
    }

    /// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
    static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(UnicodeScalar(byte))
            default:
                output += "%" + Hex.uppercase(byte)
            }
        }
        return output
    }

    /// Base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        String(
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").prefix { $0 != "=" }
        )
    }
}

/// Hex digits for SigV4.
enum Hex {
    static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }

    static func uppercase(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
    }
}
