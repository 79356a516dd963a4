import Crypto
import Foundation
import SenderKit

/// Twilio SendGrid's Event Webhook with Signature Verification on (Settings → Mail Settings →
/// Event Webhook).
public struct SendGridSender: SenderTooling {
    public init() {}

    public var name: String { "sendgrid" }

    public var summary: String {
        "Twilio SendGrid Event Webhook (ECDSA P-256 over time and body; one record per event)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://sendgrid.com", topicTemplate: "{source}.{event}")
    }

    /// The secrets are verification keys as SendGrid shows them: the base64 of a P-256 public key
    /// (SubjectPublicKeyInfo, `MFkw…`).
    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        var keys: [P256.Signing.PublicKey] = []
        for (index, secret) in source.secrets.enumerated() {
            guard let der = Base64.decode(secret), let key = try? P256.Signing.PublicKey(derRepresentation: der) else {
                throw ConfigurationError(
                    source.secretsSetting,
                    "key \(index + 1) is not a P-256 public key: paste the Verification Key SendGrid shows (MFkw…)"
                )
            }
            keys.append(key)
        }
        return SendGridScheme(keys: keys, timestampTolerance: source.timestampTolerance)
    }

    /// A new P-256 key pair: the public key configured as SendGrid shows it, the PEM private key
    /// for `sign`.
    public func generateCredentials() -> DevCredentials {
        let key = P256.Signing.PrivateKey()
        return DevCredentials(
            secret: Base64.encode(key.publicKey.derRepresentation),
            signingKey: key.pemRepresentation
        )
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"[{"email":"ada@example.com","timestamp":1767225600,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":["welcome"],"sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},{"email":"ada@example.com","timestamp":1767225605,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":["welcome"],"sg_event_id":"x6Wd5dRtTlyGrOVTwOzgKg==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0","response":"250 OK"}]"#,
            topic: "sendgrid.processed"
        )
    }
}
