import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Zoom webhooks (event subscriptions of a Zoom app): `x-zm-signature: v0=<hex>` over
/// `v0:{x-zm-request-timestamp}:{body}`, keyed with the UTF-8 of the app's secret token. Zoom's
/// endpoint check (`endpoint.url_validation`), signed the same way, is answered with
/// `{"plainToken":…,"encryptedToken": hex HMAC-SHA256(secret token, plainToken)}` and not published.
/// Zoom sends no signed delivery id: the id is derived from the signed body (`zm-` and the first 24
/// hex digits of its SHA-256), which Zoom's retries repeat byte for byte.
public struct ZoomScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `us.zoom.<event>`.
    public static let cloudEventTypePrefix = "us.zoom"

    /// The header names Zoom sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-zm-signature")!
        public static let timestamp = HTTPField.Name("x-zm-request-timestamp")!
        public static let trackingID = HTTPField.Name("x-zm-trackingid")!
    }

    public static let eventField: JSONPointer = "/event"
    public static let plainTokenField: JSONPointer = "/payload/plainToken"
    /// The Kafka key: one meeting's (webinar's, user's…) events stay in order on one partition.
    public static let keyField: JSONPointer = "/payload/object/id"

    /// The event Zoom sends to check an endpoint.
    public static let urlValidation = "endpoint.url_validation"

    /// Events apps commonly subscribe to; others are published just as well (they are signed).
    public static let catalogue: Set<String> = [
        "meeting.created", "meeting.updated", "meeting.deleted", "meeting.started", "meeting.ended",
        "meeting.participant_joined", "meeting.participant_left", "meeting.sharing_started", "meeting.sharing_ended",
        "recording.started", "recording.stopped", "recording.completed", "recording.transcript_completed",
        "webinar.created", "webinar.started", "webinar.ended", "webinar.registration_created",
        "webinar.participant_joined", "user.created", "user.updated", "user.deleted", "user.presence_status_updated",
        "phone.callee_ended", "phone.caller_ended", "app_deauthorized",
    ]

    private let keys: [HMACKey]
    private let timestampTolerance: Int64

    public init(secrets: [String], timestampTolerance: Int64 = 300) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let timestampText = try request.headers.required(Header.timestamp)
        let timestamp = try UnixTimestamp.fresh(
            timestampText,
            header: Header.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        let content = Array("v0:\(timestampText):".utf8) + request.body
        try PrefixedHexSignature.verify(signature, prefix: "v0=", message: content, keys: keys, header: name)
        let event = try fields.eventType(at: Self.eventField)
        let forwarded = request.headers.forwarded([Header.signature, Header.timestamp, Header.trackingID])
        let id = "zm-" + Hex.encode(SHA256.hash(data: request.body).prefix(12))
        if event == Self.urlValidation {
            let plainToken = try fields.required(Self.plainTokenField)
            return VerifiedWebhook(
                eventType: event,
                deliveryID: id,
                signedAt: timestamp,
                checks: ["timestamp", "signature"],
                forwardedHeaders: forwarded,
                reply: validationReply(plainToken)
            )
        }
        return VerifiedWebhook(
            eventType: event,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", "signature"],
            forwardedHeaders: forwarded
        )
    }

    /// `{"plainToken":…,"encryptedToken":…}`: the token, and its HMAC under the first secret (the
    /// one Zoom has while the relay rotates: the first active secret is the new one).
    func validationReply(_ plainToken: String) -> WebhookReply {
        let encrypted = keys.first.map { Hex.encode($0.code(for: Array(plainToken.utf8))) } ?? ""
        return .json(JSONText.object(["plainToken": .string(plainToken), "encryptedToken": .string(encrypted)]))
    }

    public var bodyFields: [JSONPointer] { [Self.eventField, Self.plainTokenField] }

    /// `v0:{timestamp}:{body}`; the event, and the id derived from the body, are signed with it.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders(deliveryID: [Header.trackingID]) }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let content = Array("v0:\(delivery.timestamp):".utf8) + delivery.body
        return [
            ("content-type", "application/json; charset=utf-8"),
            ("user-agent", "Zoom Marketplace/1.0a"),
            (Header.timestamp.canonicalName, String(delivery.timestamp)),
            (Header.signature.canonicalName, PrefixedHexSignature.sign(content, prefix: "v0=", key: key)),
        ]
    }
}
