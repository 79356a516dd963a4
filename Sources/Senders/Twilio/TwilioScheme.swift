import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Twilio webhooks (messaging, voice and status callbacks). `X-Twilio-Signature` is the base64
/// HMAC-SHA1 (HMAC-SHA256 when `X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256`),
/// keyed with the auth token (or the SharedKey secret), of the URL Twilio called followed, for a
/// form body, by every field sorted by name as name + value. A JSON body is signed through the URL:
/// its query carries `bodySHA256`, the hex SHA-256 of the body. As Twilio's library does, the URL
/// is tried as configured, with its default port added and with its port removed.
///
/// A form's fields are signed in sorted order, so the same fields reordered or re-encoded are
/// another body under the same signature: the dedup key is what was signed, not the body's bytes.
public struct TwilioScheme: WebhookScheme, WebhookSigner {
    /// The header names Twilio sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-twilio-signature")!
        public static let settings = HTTPField.Name("x-twilio-webhooks-signature-settings")!
        public static let idempotencyToken = HTTPField.Name("i-twilio-idempotency-token")!
    }

    /// The form fields that name what a callback is about, in the order tried (message, then call).
    static let sidFields = ["MessageSid", "SmsSid", "CallSid"]

    /// The message and call statuses Twilio documents; a type is `message.<status>`, `call.<status>`.
    static let messageStatuses: Set<String> = [
        "accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered", "undelivered",
        "receiving", "received", "read", "partially_delivered",
    ]
    static let callStatuses: Set<String> = [
        "queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled",
    ]

    /// The secrets as HMAC-SHA1 keys (Twilio's default) and HMAC-SHA256 keys (SharedKey webhooks).
    private let sha1Keys: [HMACKey]
    private let sha256Keys: [HMACKey]
    private let url: String

    /// - Parameter url: the webhook URL as configured at Twilio (the source's `public_url`).
    public init(secrets: [String], url: String) {
        self.sha1Keys = secrets.map { HMACKey(secret: $0, algorithm: .sha1) }
        self.sha256Keys = secrets.map { HMACKey(secret: $0, algorithm: .sha256) }
        self.url = url
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
        let algorithm = try Self.algorithm(request.headers[Header.settings])
        guard let code = Base64.decode(signature), code.count == algorithm.byteCount else {
            throw .badSignature(header: name, reason: "is not the base64 of an HMAC-\(algorithm.rawValue.uppercased())")
        }
        let calledURL = request.url ?? url
        var signedFields = ""
        var form: FormFields?
        if request.mediaType == .form {
            guard let fields = request.form else {
                throw .malformedBody(reason: "is not valid application/x-www-form-urlencoded UTF-8")
            }
            form = fields
            signedFields = Self.sortedFields(fields)
        } else {
            guard let hash = Self.queryValue("bodySHA256", in: calledURL) else {
                throw .badSignature(header: name, reason: "signs a JSON body only with bodySHA256 in the URL")
            }
            guard hash == Hex.encode(SHA256.hash(data: request.body)) else {
                throw .badSignature(header: name, reason: "bodySHA256 in the URL is not the body's SHA-256")
            }
        }
        let keys = algorithm == .sha256 ? sha256Keys : sha1Keys
        let matched = Self.signedURLs(calledURL).contains { candidate in
            Array((candidate + signedFields).utf8).withUnsafeBytes {
                HMACKey.anyMatches([code], message: $0, keys: keys)
            }
        }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }

        let eventType = try Self.eventType(form: form, fields: fields)
        let sid = form.flatMap { form in Self.sidFields.lazy.compactMap { form[$0] }.first }
        let signed = Array((calledURL + signedFields).utf8) + (form == nil ? request.body : [])
        let digest = Hex.encode(SHA256.hash(data: signed))
        var id = request.headers[Header.idempotencyToken] ?? ("tw-" + digest.prefix(24))
        if !DeliveryID.isValid(id) { id = "tw-" + digest.prefix(24) }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: nil,
            checks: ["signature"],
            forwardedHeaders: request.headers.forwarded([Header.signature, Header.settings, Header.idempotencyToken]),
            subject: sid,
            dedupKey: "twilio-signed:" + digest
        )
    }

    /// HMAC-SHA1 unless the settings header names another algorithm Twilio signs with.
    static func algorithm(_ settings: String?) throws(WebhookRejection) -> HMACAlgorithm {
        for part in (settings ?? "").split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2, pieces[0].trimmingCharacters(in: .whitespaces) == "algorithm" else { continue }
            switch pieces[1].trimmingCharacters(in: .whitespaces).uppercased() {
            case "HMAC_SHA1": return .sha1
            case "HMAC_SHA256": return .sha256
            case "": continue
            default:
                throw .invalidHeader(
                    Header.settings.canonicalName,
                    reason: "names an algorithm other than HMAC_SHA1 or HMAC_SHA256"
                )
            }
        }
        return .sha1
    }

    /// Every distinct field as name + value, sorted by name and then value, by code point (as
    /// Twilio's library sorts Python strings, which is not Swift's `String` order).
    static func sortedFields(_ form: FormFields) -> String {
        let pairs = form.fields.map { (Array($0.name.unicodeScalars), Array($0.value.unicodeScalars)) }
            .sorted { $0.0 == $1.0 ? $0.1.lexicographicallyPrecedes($1.1) : $0.0.lexicographicallyPrecedes($1.0) }
        var text = String.UnicodeScalarView()
        var previous: ([Unicode.Scalar], [Unicode.Scalar])?
        for pair in pairs where previous.map({ $0 != pair }) ?? true {
            text.append(contentsOf: pair.0)
            text.append(contentsOf: pair.1)
            previous = pair
        }
        return String(text)
    }

    /// The URL as called, with the scheme's default port added, and with its port removed.
    static func signedURLs(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        let hostEnd = authority.lastIndex(of: "]") ?? authority.startIndex
        if let colon = authority[hostEnd...].lastIndex(of: ":") {
            let withoutPort = String(url[..<colon]) + url[authorityEnd...]
            return [url, withoutPort]
        }
        let port = url.lowercased().hasPrefix("https:") ? "443" : "80"
        return [url, String(url[..<authorityEnd]) + ":" + port + url[authorityEnd...]]
    }

    /// The first value of `name` in the URL's query, percent-decoded.
    static func queryValue(_ name: String, in url: String) -> String? {
        guard let question = url.firstIndex(of: "?") else { return nil }
        let query = url[url.index(after: question)...].prefix { $0 != "#" }
        return FormFields(encoded: Array(query.utf8))?[name]
    }

    /// `message.<status>` or `call.<status>` from a callback's form, `message.received` for an
    /// incoming message; a JSON body's `type`; `webhook` otherwise.
    static func eventType(form: FormFields?, fields: BodyFields) throws(WebhookRejection) -> String {
        var type = "webhook"
        if let form {
            if let status = form["MessageStatus"] ?? form["SmsStatus"] {
                type = "message.\(status)"
            } else if let status = form["CallStatus"] {
                type = "call.\(status)"
            } else if form["MessageSid"] != nil || form["SmsSid"] != nil {
                type = "message.received"
            }
        } else if let declared = try fields.value(at: "/type") {
            type = declared
        }
        guard EventName.isValid(type) else {
            throw .malformedBody(reason: "names an event type that \(EventName.rule)")
        }
        return type
    }

    public func describe(eventType: String) -> EventDescriptor {
        let known = eventType == "webhook" || eventType == "message.received"
        let parts = eventType.split(separator: ".", maxSplits: 1)
        let isKnown =
            known
            || (parts.count == 2
                && (parts[0] == "message" ? Self.messageStatuses : Self.callStatuses).contains(String(parts[1])))
        return EventName.describe(eventType, cloudEventTypePrefix: "com.twilio", keyField: nil, isKnown: isKnown)
    }

    public var knownEventTypes: [String] {
        ["webhook", "message.received"] + Self.messageStatuses.sorted().map { "message.\($0)" }
            + Self.callStatuses.sorted().map { "call.\($0)" }
    }

    public var bodyFields: [JSONPointer] { ["/type"] }

    public var bodyKinds: BodyKinds { [.form, .jsonObject] }

    /// The URL and the fields (or the body's hash); the type is read from them. No id or time.
    public var signedParts: SignedParts { [.body, .eventType] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders(deliveryID: [Header.idempotencyToken]) }

    public var signedURL: String? { url }

    /// Signs a form body, as Twilio's callbacks are (a JSON body is signed through a `bodySHA256`
    /// in the URL, which a request printed for `public_url` cannot carry).
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = sha1Keys.first else { throw SigningError("no secret is configured") }
        guard delivery.body.first != UInt8(ascii: "{"), let form = FormFields(encoded: delivery.body) else {
            throw SigningError("Twilio deliveries to sign are form fields (name=value&…)")
        }
        let code = key.code(for: Array((url + Self.sortedFields(form)).utf8))
        return [
            ("content-type", "application/x-www-form-urlencoded"),
            ("user-agent", "TwilioProxy/1.1"),
            (Header.idempotencyToken.canonicalName, delivery.deliveryID(orNew: "tw-")),
            (Header.signature.canonicalName, Base64.encode(code)),
        ]
    }
}
