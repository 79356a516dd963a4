import Crypto
import Foundation
import RelayPrimitives

/// AWS Signature Version 4, the parts both of its forms share: the presigned URL of an MSK IAM
/// token and the signed headers of an STS request.
enum SigV4 {
    /// `20260101T000000Z` and `20260101` for `unixSeconds`.
    static func stamp(unixSeconds: Int64) -> (stamp: String, day: String) {
        let stamp = RFC3339.format(unixSeconds: unixSeconds).filter { $0 != "-" && $0 != ":" }
        return (stamp, String(stamp.prefix(8)))
    }

    /// The hex signature of `stringToSign` with the key derived for this day, region and service.
    static func signature(
        of stringToSign: String,
        secretAccessKey: String,
        day: String,
        region: String,
        service: String
    ) -> String {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The string to sign for a canonical request.
    static func stringToSign(canonicalRequest: String, stamp: String, scope: String) -> String {
        ["AWS4-HMAC-SHA256", stamp, scope, sha256Hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.lowercase(SHA256.hash(data: bytes))
    }

    /// The headers that sign a request in the `Authorization` header (what STS takes): `X-Amz-Date`,
    /// `X-Amz-Security-Token` for temporary credentials, and `Authorization`, over `headers` (which
    /// must hold `host`) and the body's SHA-256.
    static func signedHeaders(
        method: String,
        path: String,
        headers: [String: String],
        body: [UInt8],
        service: String,
        region: String,
        credentials: AWSCredentials,
        at unixSeconds: Int64
    ) -> [String: String] {
        let (stamp, day) = stamp(unixSeconds: unixSeconds)
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        signed["x-amz-date"] = stamp
        if let token = credentials.sessionToken { signed["x-amz-security-token"] = token }
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(signed[$0]!.trimmingCharacters(in: .whitespaces))\n" }.joined()
        let signedNames = names.joined(separator: ";")
        let canonicalRequest = [method, path, "", canonicalHeaders, signedNames, sha256Hex(body)]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signature = signature(
            of: stringToSign(canonicalRequest: canonicalRequest, stamp: stamp, scope: scope),
            secretAccessKey: credentials.secretAccessKey,
            day: day,
            region: region,
            service: service
        )
        var result = ["X-Amz-Date": stamp]
        if let token = credentials.sessionToken { result["X-Amz-Security-Token"] = token }
        result["Authorization"] =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)"
        return result
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
