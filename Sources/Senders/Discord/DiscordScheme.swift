import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Discord interactions and webhook events: `X-Signature-Ed25519` is the hex Ed25519 signature,
/// under the application's public key, of `X-Signature-Timestamp` (Unix seconds, within the
/// tolerance) + body. The body says what it is:
/// - an interaction (`id`, `type` 1–5): a PING (`type` 1) is answered `{"type":1}` and not
///   published; any other is published by its kind (`application_command`…) with the interaction
///   `id`, and answered with the deferred response Discord expects within three seconds, so the
///   consumer completes it through the interaction token;
/// - a webhook event (`event.type`, e.g. `APPLICATION_AUTHORIZED`): published by its type in
///   lowercase and answered 204; a webhook PING (`type` 0) is answered 204 and not published.
public struct DiscordScheme: WebhookScheme, WebhookSigner {
    /// The header names Discord sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-signature-ed25519")!
        public static let timestamp = HTTPField.Name("x-signature-timestamp")!
    }

    /// The body fields the scheme reads.
    public enum Field {
        public static let type: JSONPointer = "/type"
        public static let id: JSONPointer = "/id"
        public static let eventType: JSONPointer = "/event/type"
        /// The Kafka key of an interaction: one server's interactions stay in order.
        public static let guildID: JSONPointer = "/guild_id"
        /// The Kafka key of a webhook event.
        public static let applicationID: JSONPointer = "/application_id"
    }

    /// The kinds of interaction, by their `type` number, as event types.
    public static let interactionKinds: [String: String] = [
        "2": "application_command", "3": "message_component", "4": "application_command_autocomplete",
        "5": "modal_submit",
    ]

    /// The webhook event types Discord documents, lowercased.
    public static let webhookEventTypes: Set<String> = [
        "application_authorized", "application_deauthorized", "entitlement_create", "quest_user_enrollment",
        "lobby_message_create", "lobby_message_update", "lobby_message_delete", "game_direct_message_create",
        "game_direct_message_update", "game_direct_message_delete",
    ]

    /// The answers Discord requires: PONG to a PING; a deferred response to an interaction (a
    /// message for a command or a modal, an update for a component, no choices for autocomplete).
    public enum Reply {
        public static let pong = WebhookReply.json(Array(#"{"type":1}"#.utf8))
        public static let deferredMessage = WebhookReply.json(Array(#"{"type":5}"#.utf8))
        public static let deferredUpdate = WebhookReply.json(Array(#"{"type":6}"#.utf8))
        public static let noChoices = WebhookReply.json(Array(#"{"type":8,"data":{"choices":[]}}"#.utf8))
        public static let noContent = WebhookReply(status: 204, contentType: "text/plain", body: [])
    }

    private let keys: ParsedKeys<Curve25519.Signing.PublicKey>
    private let timestampTolerance: Int64

    /// - Parameter keys: the applications' public keys.
    public init(keys: [Curve25519.Signing.PublicKey], timestampTolerance: Int64 = 300) {
        self.keys = ParsedKeys(keys)
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        let timestampText = try request.headers.required(Header.timestamp)
        guard signature.utf8.count == 128, let code = Hex.decode(signature) else {
            throw .badSignature(header: name, reason: "is not 128 hex digits (an Ed25519 signature)")
        }
        let message = Array(timestampText.utf8) + request.body
        guard keys.keys.contains(where: { $0.isValidSignature(code, for: message) }) else {
            throw .badSignature(header: name, reason: "does not verify under any configured public key")
        }
        let signedAt = try UnixTimestamp.fresh(
            timestampText,
            header: Header.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        let forwarded = request.headers.forwarded([Header.signature, Header.timestamp])
        let kind = try fields.required(Field.type)
        if let webhookEvent = try fields.value(at: Field.eventType) {
            let eventType = webhookEvent.lowercased()
            guard EventName.isValid(eventType) else { throw .invalidField(Field.eventType, reason: EventName.rule) }
            return VerifiedWebhook(
                eventType: eventType,
                deliveryID: Self.bodyID(request.body),
                signedAt: signedAt,
                checks: ["signature", "timestamp"],
                forwardedHeaders: forwarded,
                successReply: Reply.noContent
            )
        }
        let ping: WebhookReply? =
            switch kind {
            case "0": Reply.noContent
            case "1": Reply.pong
            default: nil
            }
        if let ping {
            return VerifiedWebhook(
                eventType: "ping",
                deliveryID: (try fields.value(at: Field.id)) ?? Self.bodyID(request.body),
                signedAt: signedAt,
                checks: ["signature", "timestamp"],
                forwardedHeaders: forwarded,
                reply: ping
            )
        }
        guard UnixTimestamp.parse(kind) != nil else { throw .invalidField(Field.type, reason: "must be a number") }
        let eventType = Self.interactionKinds[kind] ?? "interaction_type_\(kind)"
        let reply =
            switch kind {
            case "3": Reply.deferredUpdate
            case "4": Reply.noChoices
            default: Reply.deferredMessage
            }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: try fields.deliveryID(at: Field.id),
            signedAt: signedAt,
            checks: ["signature", "timestamp"],
            forwardedHeaders: forwarded,
            successReply: reply
        )
    }

    /// The id of a webhook event, which carries none: `dc-` and the body's SHA-256 (signed).
    static func bodyID(_ body: [UInt8]) -> String {
        "dc-" + Hex.encode(SHA256.hash(data: body))
    }

    public var bodyFields: [JSONPointer] { [Field.type, Field.id, Field.eventType] }

    /// Time and body; the id, kind and type are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public func describe(eventType: String) -> EventDescriptor {
        let isInteraction = Self.interactionKinds.values.contains(eventType) || eventType.hasPrefix("interaction_")
        return EventName.describe(
            eventType,
            cloudEventTypePrefix: "com.discord",
            keyField: isInteraction ? Field.guildID : Field.applicationID,
            isKnown: isInteraction || Self.webhookEventTypes.contains(eventType)
        )
    }

    public var knownEventTypes: [String] {
        (Array(Self.interactionKinds.values) + Self.webhookEventTypes).sorted()
    }

    /// Signs with `delivery.signingKey`, the hex of the application's 32-byte private key (as
    /// `webhook-relay dev` makes it); Discord alone holds the real one.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        let hex = try delivery.requiredSigningKey(sender: "discord")
        guard let raw = Hex.decode(hex), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw SigningError("the signing key is not the hex of a 32-byte Ed25519 private key")
        }
        let timestamp = String(delivery.timestamp)
        guard let signature = try? key.signature(for: Array(timestamp.utf8) + delivery.body) else {
            throw SigningError("Ed25519 signing failed")
        }
        return [
            ("content-type", "application/json"),
            ("user-agent", "Discord-Interactions/1.0 (+https://discord.com)"),
            (Header.signature.canonicalName, Hex.encode(signature)),
            (Header.timestamp.canonicalName, timestamp),
        ]
    }
}
