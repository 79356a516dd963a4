import Crypto
import Foundation
import HTTPTypes
import SenderKit
import SwiftASN1
import X509
import _CryptoExtras

/// One known-answer vector from `sender-signatures.json`, made with the sender's official library
/// (or a reference verifier mirroring it) and judged by it: `valid` says whether a correct verifier
/// accepts it at `now`.
public struct SenderVector: Decodable, Sendable, CustomStringConvertible {
    public var name: String
    public var secret: String
    public var headers: [String: String]
    public var body: String
    public var bodyLength: Int
    public var bodySHA256: String
    public var now: Int64
    public var valid: Bool
    /// An optional feature the vector exercises (`svix-header-aliases`, `unprefixed-secret`).
    public var requires: String?
    /// Generic HMAC only: the scheme's configuration.
    public var config: GenericConfig?
    /// For senders that sign them: the method and URL the sender called.
    public var method: String?
    public var url: String?
    /// Zoom's endpoint check: the `encryptedToken` its answer must carry.
    public var encryptedToken: String?
    /// Certificate-signed senders (Amazon SNS, PayPal): the signing certificate, as PEM, that the
    /// vector's certificate URL would serve, and the test CA that issued it.
    public var certificate: String?
    public var certificateCA: String?

    /// A generic-HMAC vector's configuration, as SENDERS.md defines it.
    public struct GenericConfig: Decodable, Sendable {
        public var header: String
        public var algorithm: String
        public var encoding: String
        public var prefix: String
        public var timestampHeader: String?
        public var toleranceSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case header, algorithm, encoding, prefix
            case timestampHeader = "timestamp_header"
            case toleranceSeconds = "tolerance_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, secret, headers, body, now, valid, requires, config, method, url, certificate
        case encryptedToken = "encrypted_token"
        case certificateCA = "certificate_ca"
        case bodyLength = "body_utf8_length"
        case bodySHA256 = "body_sha256"
    }

    /// The key of ``certificate``, as the relay's certificate fetcher hands it to a scheme once the
    /// certificate passed its checks; `nil` for vectors without a certificate.
    public var fetchedKey: FetchedKey? {
        guard let certificate, let parsed = try? Certificate(pemEncoded: certificate),
            let key = _RSA.Signing.PublicKey(parsed.publicKey)
        else { return nil }
        return FetchedKey(url: "vector", publicKeyDER: Array(key.derRepresentation))
    }

    /// The exact body bytes.
    public var bodyBytes: [UInt8] { Array(body.utf8) }

    /// Whether the body decoded from the fixture is exactly the one that was signed.
    public var bodyIsIntact: Bool {
        bodyBytes.count == bodyLength
            && SHA256.hash(data: bodyBytes).map { String(format: "%02x", $0) }.joined() == bodySHA256
    }

    /// The headers as a request carries them (sorted, so runs are repeatable).
    public var fields: HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        return fields
    }

    /// The verifier's clock.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(now)) }

    public var description: String { name }

    /// The request as the sender sent it: headers, body, and the method and URL where signed.
    public var request: WebhookRequest {
        var request = WebhookRequest(headers: fields, body: bodyBytes, method: method ?? "POST", url: url)
        request.fetchedKey = fetchedKey
        return request
    }

    /// The vectors of one scheme (`standard-webhooks`, `github`, `stripe`, `shopify`, `slack`,
    /// `generic-hmac` in `sender-signatures.json`; the later senders in `sender-signatures-2.json`).
    public static func all(scheme: String) throws -> [SenderVector] {
        struct Scheme: Decodable { var vectors: [SenderVector] }
        struct File: Decodable { var schemes: [String: Scheme] }
        var vectors: [SenderVector] = []
        for file in ["sender-signatures", "sender-signatures-2"] {
            guard let url = Bundle.module.url(forResource: file, withExtension: "json") else {
                throw CocoaError(.fileNoSuchFile)
            }
            vectors += try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).schemes[scheme]?.vectors ?? []
        }
        return vectors
    }
}
