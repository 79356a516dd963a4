import Crypto
import Foundation
import SenderKit

/// Discord applications: the Interactions Endpoint URL and the Webhook Events URL (Developer
/// Portal → the application → General Information / Webhooks); both are signed with the
/// application's key pair, whose public key the portal shows.
public struct DiscordSender: SenderTooling {
    public init() {}

    public var name: String { "discord" }

    public var summary: String {
        "Discord interactions and webhook events (Ed25519 over time and body; answers PING and defers interactions)"
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "https://discord.com", topicTemplate: "{source}.{event}")
    }

    /// The secrets are the applications' public keys, as the portal shows them: 64 hex digits.
    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        var keys: [Curve25519.Signing.PublicKey] = []
        for (index, secret) in source.secrets.enumerated() {
            guard secret.utf8.count == 64, let raw = Hex.decode(secret),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else {
                throw ConfigurationError(
                    source.secretsSetting,
                    "key \(index + 1) is not a public key: paste the application's Public Key (64 hex digits)"
                )
            }
            keys.append(key)
        }
        return DiscordScheme(keys: keys, timestampTolerance: source.timestampTolerance)
    }

    /// A new Ed25519 key pair: the public key configured, the private key for `sign`.
    public func generateCredentials() -> DevCredentials {
        let key = Curve25519.Signing.PrivateKey()
        return DevCredentials(
            secret: Hex.encode(key.publicKey.rawRepresentation),
            signingKey: Hex.encode(key.rawRepresentation)
        )
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"id":"1325000000000000001","application_id":"1324999999999999999","type":2,"token":"aW50ZXJhY3Rpb246MTMyNTAwMDAwMDAwMDAwMDAwMTpkZXY","version":1,"guild_id":"1100000000000000001","channel_id":"1100000000000000002","data":{"id":"1200000000000000001","name":"ping","type":1},"member":{"user":{"id":"1000000000000000001","username":"ada"}}}"#,
            topic: "discord.application_command"
        )
    }
}
