import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Twilio SendGrid's signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` is the base64
/// DER ECDSA P-256 / SHA-256 signature of `X-Twilio-Email-Event-Webhook-Timestamp` (Unix seconds,
/// within the tolerance) + body, under the key pair whose public half Mail Settings → Event Webhook
/// shows as the verification key. The body is a JSON array of events, each published as a record of
/// its own: id `sg_event_id`, type `event`, key `sg_message_id`.
public struct SendGridScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.sendgrid.<event>`.
    public static let cloudEventTypePrefix = "com.sendgrid"

    /// The header names SendGrid sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-twilio-email-event-webhook-signature")!
        public static let timestamp = HTTPField.Name("x-twilio-email-event-webhook-timestamp")!
    }

    /// The fields of one event.
    public enum Field {
        public static let eventID: JSONPointer = "/sg_event_id"
        public static let event: JSONPointer = "/event"
    }

    /// The Kafka key: one message's events (processed, delivered, open…) stay in order.
    public static let keyField: JSONPointer = "/sg_message_id"

    /// The delivery and engagement events SendGrid posts.
    public static let catalogue: Set<String> = [
        "processed", "dropped", "delivered", "deferred", "bounce", "blocked", "open", "click", "spamreport",
        "unsubscribe", "group_unsubscribe", "group_resubscribe",
    ]

    private let keys: ParsedKeys<P256.Signing.PublicKey>
    private let timestampTolerance: Int64

    public init(keys: [P256.Signing.PublicKey], timestampTolerance: Int64 = 300) {
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
        guard let der = Base64.decode(signature), let code = try? P256.Signing.ECDSASignature(derRepresentation: der)
        else {
            throw .badSignature(header: name, reason: "is not the base64 of a DER ECDSA signature")
        }
        let message = Array(timestampText.utf8) + request.body
        guard keys.keys.contains(where: { $0.isValidSignature(code, for: message) }) else {
            throw .badSignature(header: name, reason: "does not verify under any configured verification key")
        }
        let signedAt = try UnixTimestamp.fresh(
            timestampText,
            header: Header.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        var events: [BatchEvent] = []
        for element in try fields.elements() {
            let item = Array(element)
            let itemFields = BodyFields(body: item, capturing: [Field.eventID, Field.event])
            events.append(
                BatchEvent(
                    eventType: try itemFields.eventType(at: Field.event),
                    deliveryID: try itemFields.deliveryID(at: Field.eventID),
                    body: item
                )
            )
        }
        guard let first = events.first else { throw .malformedBody(reason: "is an empty list of events") }
        return VerifiedWebhook(
            eventType: first.eventType,
            deliveryID: first.deliveryID,
            signedAt: signedAt,
            checks: ["signature", "timestamp"],
            forwardedHeaders: request.headers.forwarded([Header.signature, Header.timestamp]),
            events: events
        )
    }

    public var bodyKinds: BodyKinds { .jsonArray }

    /// Time and body; each event's id and type are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    /// Signs with `delivery.signingKey`, a PEM P-256 private key (as `webhook-relay dev` makes it);
    /// SendGrid alone holds the real one.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        let pem = try delivery.requiredSigningKey(sender: "sendgrid")
        guard let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
            throw SigningError("the signing key is not a PEM P-256 private key")
        }
        let timestamp = String(delivery.timestamp)
        guard let signature = try? key.signature(for: Array(timestamp.utf8) + delivery.body) else {
            throw SigningError("ECDSA signing failed")
        }
        return [
            ("content-type", "application/json"),
            ("user-agent", "SendGrid Event API"),
            (Header.signature.canonicalName, Base64.encode(signature.derRepresentation)),
            (Header.timestamp.canonicalName, timestamp),
        ]
    }
}
