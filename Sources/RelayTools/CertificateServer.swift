import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL
import RelayPrimitives
import SwiftASN1
import X509
import _CryptoExtras

/// A certificate authority made on the spot (for `webhook-relay dev` and the tests): it issues the
/// local certificate host's TLS certificate and the stand-in senders' signing certificates, and its
/// PEM file is what the relay's `certificate_ca_file` trusts.
public struct LocalCertificateAuthority: Sendable {
    public let name: DistinguishedName
    private let key: Certificate.PrivateKey
    public let certificate: Certificate
    /// The CA certificate as PEM.
    public let pem: String

    public init(commonName: String = "webhook-relay local CA") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + 30 * 86_400,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        self.key = Certificate.PrivateKey(key)
        self.name = name
        self.certificate = certificate
        self.pem = try certificate.serializeAsPEM().pemString
    }

    /// A certificate for `publicKey`, named `commonName` (also its DNS name) or for the IP address
    /// `ipAddress`, valid from `notBefore` to `notAfter`.
    public func issue(
        commonName: String,
        publicKey: Certificate.PublicKey,
        ipAddress: [UInt8]? = nil,
        notBefore: Date = Date() - 3600,
        notAfter: Date = Date() + 30 * 86_400
    ) throws -> Certificate {
        try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: name,
            subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                if let ipAddress {
                    SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ipAddress)))])
                } else {
                    SubjectAlternativeNames([.dnsName(commonName)])
                }
            },
            issuerPrivateKey: key
        )
    }
}

/// A P-256 key and a certificate for it from a ``LocalCertificateAuthority``, both as PEM: a TLS
/// server's identity (a test broker behind a TLS proxy) or a client's (mutual TLS).
public struct LocalTLSIdentity: Sendable {
    public let certificatePEM: String
    /// The key as PKCS #8 PEM.
    public let keyPEM: String

    /// A certificate naming `dnsName` (its common name and DNS name).
    public init(authority: LocalCertificateAuthority, dnsName: String) throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try authority.issue(commonName: dnsName, publicKey: Certificate.PublicKey(key.publicKey))
        self.certificatePEM = try certificate.serializeAsPEM().pemString
        self.keyPEM = key.pemRepresentation
    }
}

/// An RSA key pair a sender signs with, and its certificate as PEM.
public struct LocalSigningCertificate: Sendable {
    public let key: _RSA.Signing.PrivateKey
    public let pem: String

    /// A 2048-bit key and a certificate for it from `authority`.
    public init(
        authority: LocalCertificateAuthority,
        commonName: String,
        notBefore: Date = Date() - 3600,
        notAfter: Date = Date() + 30 * 86_400
    ) throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let certificate = try authority.issue(
            commonName: commonName,
            publicKey: Certificate.PublicKey(key.publicKey),
            notBefore: notBefore,
            notAfter: notAfter
        )
        self.key = key
        self.pem = try certificate.serializeAsPEM().pemString
    }

    /// The PKCS #1 v1.5 signature of `message` under SHA-1 or SHA-256, as base64.
    public func sign(_ message: [UInt8], sha1: Bool = false) throws -> String {
        let signature =
            sha1
            ? try key.signature(for: Insecure.SHA1.hash(data: message), padding: .insecurePKCS1v1_5)
            : try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        return signature.rawRepresentation.base64EncodedString()
    }
}

/// A local HTTPS server standing in for a sender's certificate host (Amazon SNS's, PayPal's), on
/// 127.0.0.1 with a certificate from its own CA: it serves what is put at each path and records
/// every request it gets, so a test can prove what the relay fetched (and what it did not).
public final class CertificateServer: Sendable {
    /// What one path answers.
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var headers: [String: String]

        public init(status: Int = 200, body: String, headers: [String: String] = [:]) {
            self.status = status
            self.body = body
            self.headers = headers
        }
    }

    private let answers = Locked([String: Answer]())
    private let requests = Locked([String]())
    private let server: LoopbackServer
    /// The server's port on 127.0.0.1.
    public var port: Int { server.port }
    /// The CA that issued the server's certificate (and may issue the senders').
    public let authority: LocalCertificateAuthority
    /// The CA's PEM in a file, for `certificate_ca_file`.
    public let caFile: String

    /// Starts the server on a free loopback port with a certificate for 127.0.0.1 from a new CA.
    public init() async throws {
        let authority = try LocalCertificateAuthority()
        let serverKey = P256.Signing.PrivateKey()
        let serverCertificate = try authority.issue(
            commonName: "127.0.0.1",
            publicKey: Certificate.PublicKey(serverKey.publicKey),
            ipAddress: [127, 0, 0, 1]
        )
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [
                .certificate(
                    try NIOSSLCertificate(
                        bytes: Array(try serverCertificate.serializeAsPEM().pemString.utf8),
                        format: .pem
                    )
                )
            ],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKey.pemRepresentation.utf8), format: .pem))
        )
        let caFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "webhook-relay-ca-\(UUID().uuidString).pem"
        )
        .path
        try Data(authority.pem.utf8).write(to: URL(fileURLWithPath: caFile))
        let answers = self.answers
        let requests = self.requests
        let router = Router()
        @Sendable func answer(_ request: Request, _: BasicRequestContext) -> Response {
            requests.withLock { $0.append(request.uri.string) }
            guard let answer = answers.withLock({ $0[request.uri.path] }) else {
                return Response(status: .notFound)
            }
            var headers = HTTPFields()
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            return Response(
                status: HTTPResponse.Status(code: answer.status),
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body))
            )
        }
        router.get("/", use: answer)
        router.get("**", use: answer)
        server = try await LoopbackServer(router: router, server: try .tls(.http1(), tlsConfiguration: tls))
        self.authority = authority
        self.caFile = caFile
    }

    /// The server's URL of `path`, e.g. `https://127.0.0.1:PORT/SimpleNotificationService-1.pem`.
    public func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    /// Serves `answer` at `path` from now on.
    public func serve(_ path: String, _ answer: Answer) {
        answers.withLock { $0[path] = answer }
    }

    /// Every request target received so far (path and query), in order.
    public var received: [String] { requests.withLock { $0 } }

    /// Stops the server and removes the CA file.
    public func stop() async {
        await server.stop()
        try? FileManager.default.removeItem(atPath: caFile)
    }
}

/// Runs `body` with a started certificate server and always stops it afterwards.
public func withCertificateServer<T: Sendable>(_ body: (CertificateServer) async throws -> T) async throws -> T {
    let server = try await CertificateServer()
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
