import Crypto
import SenderKit
import _CryptoExtras

extension FetchedKey {
    /// Whether `signature` is this RSA key's PKCS #1 v1.5 signature of `digest` (SHA-1 for Amazon
    /// SNS's version 1, SHA-256 otherwise): what Amazon SNS and PayPal sign with.
    /// - Throws: ``WebhookRejection/untrustedCertificate(reason:)`` when the key does not parse.
    public func isValidPKCS1Signature(_ signature: [UInt8], for digest: some Digest) throws(WebhookRejection) -> Bool {
        guard let key = try? _RSA.Signing.PublicKey(derRepresentation: publicKeyDER) else {
            throw .untrustedCertificate(reason: "holds a key that does not parse")
        }
        return key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature),
            for: digest,
            padding: .insecurePKCS1v1_5
        )
    }
}
