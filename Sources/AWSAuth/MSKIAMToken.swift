import Foundation

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
        let (stamp, day) = SigV4.stamp(unixSeconds: time)
        let scope = "\(day)/\(region)/kafka-cluster/aws4_request"
        // In the order the signer writes them; the canonical query sorts them.
        var parameters: [(String, String)] = [
            ("Action", "kafka-cluster:Connect"), ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"), ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(lifetime)), ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        let canonicalQuery = parameters.sorted { $0.0 < $1.0 }.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }
            .joined(separator: "&")
        let canonicalRequest = "GET\n/\n\(canonicalQuery)\nhost:\(host)\n\nhost\n\(SigV4.sha256Hex([]))"
        let signature = SigV4.signature(
            of: SigV4.stringToSign(canonicalRequest: canonicalRequest, stamp: stamp, scope: scope),
            secretAccessKey: credentials.secretAccessKey,
            day: day,
            region: region,
            service: "kafka-cluster"
        )
        parameters += [("X-Amz-Signature", signature), ("User-Agent", userAgent)]
        let url =
            "https://\(host)/?"
            + parameters.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        let token = base64URL(Array(url.utf8))
        return (token, (time + lifetime) * 1000)
    }

    /// Base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        String(
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").prefix { $0 != "=" }
        )
    }
}
