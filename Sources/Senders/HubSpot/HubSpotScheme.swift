import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// HubSpot app webhooks, signature v3: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed
/// with the UTF-8 of the app's client secret, of method + URL + body + `X-HubSpot-Request-Timestamp`
/// (milliseconds, within the tolerance). The URL is the source's `public_url` with the query the
/// request came with. The body is an array of events, each published as a record of its own: id
/// `{portalId}-{subscriptionId}-{eventId}` (HubSpot does not promise `eventId` alone is unique),
/// type `subscriptionType`, key `objectId`.
public struct HubSpotScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.hubspot.<subscription type>`.
    public static let cloudEventTypePrefix = "com.hubspot"

    /// The header names HubSpot sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-hubspot-signature-v3")!
        public static let timestamp = HTTPField.Name("x-hubspot-request-timestamp")!
        public static let version = HTTPField.Name("x-hubspot-signature-version")!
    }

    /// The fields of one event.
    public enum Field {
        public static let eventID: JSONPointer = "/eventId"
        public static let subscriptionID: JSONPointer = "/subscriptionId"
        public static let portalID: JSONPointer = "/portalId"
        public static let subscriptionType: JSONPointer = "/subscriptionType"
    }

    /// The Kafka key: one CRM object's events stay in order on one partition.
    public static let keyField: JSONPointer = "/objectId"

    /// The subscription types of HubSpot's CRM and conversations webhooks; others are published
    /// just as well (they are signed).
    public static let catalogue: Set<String> = {
        let objects = ["contact", "company", "deal", "ticket", "product", "line_item"]
        let changes = ["creation", "deletion", "propertyChange", "associationChange", "merge", "restore"]
        let crm = objects.flatMap { object in changes.map { "\(object).\($0)" } }
        return Set(
            crm + [
                "contact.privacyDeletion", "conversation.creation", "conversation.deletion",
                "conversation.propertyChange", "conversation.newMessage", "conversation.privacyDeletion",
            ]
        )
    }()

    private let keys: [HMACKey]
    private let url: String
    private let timestampTolerance: Int64

    /// - Parameter url: the URL registered as the app's target URL (the source's `public_url`).
    public init(secrets: [String], url: String, timestampTolerance: Int64 = 300) {
        self.keys = secrets.map { HMACKey(secret: $0) }
        self.url = url
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let timestampText = try request.headers.required(Header.timestamp)
        let signedAt = try Self.freshMilliseconds(timestampText, now: now, tolerance: timestampTolerance)
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        guard let code = Base64.decode(signature), code.count == SHA256.byteCount else {
            throw .badSignature(header: name, reason: "is not the base64 of a 32-byte HMAC-SHA256")
        }
        let calledURL = request.url ?? url
        let matched = Self.signedURLs(calledURL).contains { candidate in
            let message = Array((request.method + candidate).utf8) + request.body + Array(timestampText.utf8)
            return message.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        var events: [BatchEvent] = []
        for element in try fields.elements() {
            let item = Array(element)
            let itemFields = BodyFields(
                body: item,
                capturing: [Field.eventID, Field.subscriptionID, Field.portalID, Field.subscriptionType]
            )
            let type = try itemFields.eventType(at: Field.subscriptionType)
            let id = try [Field.portalID, Field.subscriptionID, Field.eventID].map {
                (pointer) throws(WebhookRejection) in try itemFields.required(pointer)
            }.joined(separator: "-")
            guard DeliveryID.isValid(id) else { throw .invalidField(Field.eventID, reason: DeliveryID.rule) }
            events.append(BatchEvent(eventType: type, deliveryID: id, body: item))
        }
        guard let first = events.first else { throw .malformedBody(reason: "is an empty list of events") }
        return VerifiedWebhook(
            eventType: first.eventType,
            deliveryID: first.deliveryID,
            signedAt: signedAt,
            checks: ["timestamp", "signature"],
            forwardedHeaders: request.headers.forwarded([Header.signature, Header.timestamp, Header.version]),
            events: events
        )
    }

    /// The URL as called, and, when it holds escapes, as HubSpot's documentation says it signs it:
    /// with `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B` decoded (its Python library signs the
    /// URL as given, so both are tried).
    static func signedURLs(_ url: String) -> [String] {
        guard url.contains("%") else { return [url] }
        var decoded = url
        for (escape, character) in [
            ("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"), ("%27", "'"),
            ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";"),
        ] {
            decoded = decoded.replacingOccurrences(of: escape, with: character, options: .caseInsensitive)
        }
        return decoded == url ? [url] : [url, decoded]
    }

    /// The signed time in milliseconds, checked against `tolerance` seconds; returns Unix seconds.
    static func freshMilliseconds(_ text: String, now: Date, tolerance: Int64) throws(WebhookRejection) -> Int64 {
        let utf8 = text.utf8
        guard (1...15).contains(utf8.count), utf8.allSatisfy({ (0x30...0x39).contains($0) }), let millis = Int64(text)
        else {
            throw .invalidHeader(Header.timestamp.canonicalName, reason: "must be Unix milliseconds (digits only)")
        }
        return try UnixTimestamp.checkFresh(milliseconds: millis, now: now, tolerance: tolerance)
    }

    public var bodyKinds: BodyKinds { .jsonArray }

    /// Method, URL, body and time; the ids and types are read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public var signedURL: String? { url }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        let millis = String(delivery.timestamp * 1000)
        let message = Array("POST\(url)".utf8) + delivery.body + Array(millis.utf8)
        return [
            ("content-type", "application/json"),
            ("user-agent", "HubSpot Connect 2.0 (http://dev.hubspot.com/)"),
            (Header.version.canonicalName, "v3"),
            (Header.timestamp.canonicalName, millis),
            (Header.signature.canonicalName, Base64.encode(key.code(for: message))),
        ]
    }
}
