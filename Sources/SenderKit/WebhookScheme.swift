import Foundation
import HTTPTypes

/// A configured sender's way of authenticating deliveries and naming its events: one value per
/// source, built by its ``Sender`` from the source's settings.
///
/// Contract: ``verify(_:now:fields:)`` accepts a request only if it proves to come from the sender (a
/// valid signature under an active secret, within the sender's freshness window when it signs a
/// time); it compares secrets in constant time and never puts a secret into a rejection. It reads
/// body fields through `fields` only after the signature has been checked. ``describe(eventType:)``
/// never fails: an event type the sender is not known to send is still described, so that a
/// verified event is always published.
public protocol WebhookScheme: Sendable {
    /// Checks headers, freshness and signatures of one request, and names the delivery.
    func verify(_ request: WebhookRequest, now: Date, fields: BodyFields) throws(WebhookRejection) -> VerifiedWebhook

    /// The body fields ``verify(_:now:fields:)`` may read (captured in the same pass that validates
    /// the body as JSON).
    var bodyFields: [JSONPointer] { get }

    /// The CloudEvents type, topic segments and Kafka key field of an event type.
    func describe(eventType: String) -> EventDescriptor

    /// The event types the sender is known to send (their topics are looked up at start).
    var knownEventTypes: [String] { get }

    /// The parts of a delivery its signature covers. Anyone who reads a topic holds bodies and
    /// signatures, so a part outside this set is attacker-controlled: an unsigned delivery id does
    /// not decide what is new (the body does), and an unsigned event type outside the catalogue
    /// does not decide the topic or a metric label.
    var signedParts: SignedParts { get }

    /// Whether the scheme checks a timestamp against the source's tolerance (signed or not).
    var checksTimestamps: Bool { get }

    /// Headers naming the delivery and its event type, logged when a request is rejected (they are
    /// read before verification, so they are logged shortened and never trusted).
    var loggedHeaders: LoggedHeaders { get }

    /// What to tell a sender whose request has a media type outside ``bodyKinds``, if there is
    /// something to add (GitHub: set the hook's content type).
    var mediaTypeHint: String? { get }

    /// What the operator chose that weakens verification, one sentence each, logged as warnings at
    /// start (e.g. a policy that checks only one of two signatures).
    var warnings: [String] { get }

    /// The bodies this sender posts; others are refused before verification (415, or 400 for a
    /// body that is not what its `Content-Type` says). By default one JSON object.
    var bodyKinds: BodyKinds { get }

    /// The answer the sender requires when an event is accepted (published, buffered or a
    /// duplicate), in place of the relay's JSON summary: Adyen's `[accepted]`. By default none.
    var successReply: WebhookReply? { get }

    /// For a batch inside a JSON object (Adyen's `/notificationItems`), the array whose elements
    /// ``BodyFields/elements()`` gives; `nil` (the default) for a body that is the array itself.
    var batchArray: JSONPointer? { get }

    /// Whether ``fetchKey(for:now:)`` must run before ``verify(_:now:fields:)`` (senders whose
    /// request names the certificate that signed it). `false` by default.
    var fetchesKeys: Bool { get }

    /// Fetches, or finds cached, the public key that signed `request` (Amazon SNS's
    /// `SigningCertURL`, PayPal's `PAYPAL-CERT-URL`): the URL is checked against the source's
    /// allowed prefixes before anything is fetched, the certificate's chain, validity and subject
    /// before its key is used. The pipeline puts the result in ``WebhookRequest/fetchedKey`` for
    /// ``verify(_:now:fields:)``. `nil` by default.
    func fetchKey(for request: WebhookRequest, now: Date) async throws(WebhookRejection) -> FetchedKey?
}

/// A public key taken from a sender's signing certificate, after the certificate was checked.
public struct FetchedKey: Sendable, Hashable {
    /// The certificate's URL, as the request named it.
    public var url: String
    /// The key, as DER SubjectPublicKeyInfo.
    public var publicKeyDER: [UInt8]

    public init(url: String, publicKeyDER: [UInt8]) {
        self.url = url
        self.publicKeyDER = publicKeyDER
    }
}

extension WebhookScheme {
    /// Whether deliveries carry a signed time; without one, only the dedup window stops replays.
    public var signsTimestamps: Bool { signedParts.contains(.timestamp) }
    public var checksTimestamps: Bool { signsTimestamps }
    public var bodyFields: [JSONPointer] { [] }
    public var knownEventTypes: [String] { [] }
    public var mediaTypeHint: String? { nil }
    public var warnings: [String] { [] }
    public var bodyKinds: BodyKinds { .jsonObject }
    public var successReply: WebhookReply? { nil }
    public var batchArray: JSONPointer? { nil }
    public var fetchesKeys: Bool { false }
    public func fetchKey(for request: WebhookRequest, now: Date) async throws(WebhookRejection) -> FetchedKey? { nil }
}

/// Parts of a delivery a signature can cover.
public struct SignedParts: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The raw body.
    public static let body = SignedParts(rawValue: 1 << 0)
    /// The delivery id (``VerifiedWebhook/deliveryID``).
    public static let deliveryID = SignedParts(rawValue: 1 << 1)
    /// The event type (``VerifiedWebhook/eventType``), wherever it is read from.
    public static let eventType = SignedParts(rawValue: 1 << 2)
    /// The time the sender sent the delivery.
    public static let timestamp = SignedParts(rawValue: 1 << 3)

    /// Everything: body, delivery id, event type and time.
    public static let all: SignedParts = [.body, .deliveryID, .eventType, .timestamp]

    /// The names of the parts in this set, for documentation and the start-up log.
    public var names: [String] {
        [(SignedParts.body, "body"), (.deliveryID, "delivery id"), (.eventType, "event type"), (.timestamp, "time")]
            .filter { contains($0.0) }.map(\.1)
    }
}

/// Which request headers identify a delivery in the rejection log.
public struct LoggedHeaders: Sendable, Hashable {
    public var deliveryID: [HTTPField.Name]
    public var eventType: [HTTPField.Name]

    public init(deliveryID: [HTTPField.Name] = [], eventType: [HTTPField.Name] = []) {
        self.deliveryID = deliveryID
        self.eventType = eventType
    }
}

/// A request header the relay forwards to Kafka unchanged.
public struct ForwardedHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a scheme established about an accepted request.
public struct VerifiedWebhook: Sendable, Hashable {
    /// The sender's event type, e.g. `CONVERSION_COMPLETED`, `pull_request.opened`.
    public var eventType: String
    /// The sender's unique id of this delivery; becomes `ce_id` and the dedup key.
    public var deliveryID: String
    /// When the sender signed the delivery (Unix seconds), for senders that sign a time.
    public var signedAt: Int64?
    /// The checks that passed, in order, e.g. `["timestamp", "body-signature", "auth-signature"]`.
    public var checks: [String]
    /// The sender's headers to forward to Kafka unchanged, so consumers can verify again.
    public var forwardedHeaders: [ForwardedHeader]
    /// Set when the sender expects an answer instead of a published event: a handshake such as
    /// Slack's URL check or Zoom's endpoint validation. Nothing is published.
    public var reply: WebhookReply?
    /// The Kafka key the scheme read, for bodies the source's JSON key field cannot address (form
    /// fields); a key field in the body wins over it.
    public var subject: String?
    /// Set for a delivery that carries several events (HubSpot, Adyen): each becomes a record of its
    /// own, with its own id, type, key and body (the item's JSON). `eventType` and `deliveryID`
    /// above then name the delivery as a whole, for logs. `nil`: the delivery is one event.
    public var events: [BatchEvent]?
    /// A signed value that names the delivery for deduplication when neither the delivery id nor
    /// the body's bytes can (Mailgun's single-use token; the hash of what Twilio signed, whose field
    /// order is not signed): the same value again is a duplicate (or, with another body, a
    /// conflict), whatever the rest of the body says. `nil`: the delivery id (or, when the scheme
    /// does not sign it, the body) is the dedup key.
    public var dedupKey: String?
    /// The answer this delivery's sender requires once it is accepted, in place of the scheme's
    /// ``WebhookScheme/successReply`` (Discord's deferred answer to an interaction, which depends on
    /// its kind). `nil`: the scheme's, or the relay's JSON summary.
    public var successReply: WebhookReply?

    public init(
        eventType: String,
        deliveryID: String,
        signedAt: Int64?,
        checks: [String],
        forwardedHeaders: [ForwardedHeader],
        reply: WebhookReply? = nil,
        subject: String? = nil,
        events: [BatchEvent]? = nil,
        dedupKey: String? = nil,
        successReply: WebhookReply? = nil
    ) {
        self.dedupKey = dedupKey
        self.successReply = successReply
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.signedAt = signedAt
        self.checks = checks
        self.forwardedHeaders = forwardedHeaders
        self.reply = reply
        self.subject = subject
        self.events = events
    }
}

/// One event of a delivery that carries several.
public struct BatchEvent: Sendable, Hashable {
    /// The most events one delivery may carry (HubSpot sends up to 100, SendGrid up to 1,000
    /// events); a delivery with more is refused, so one request cannot make unbounded records.
    public static let maximumCount = 1000

    /// The event's type, e.g. `contact.creation`.
    public var eventType: String
    /// The event's own id; becomes its `ce_id` and its dedup key.
    public var deliveryID: String
    /// The event's JSON, exactly as it appears in the delivery; the record's value.
    public var body: [UInt8]

    public init(eventType: String, deliveryID: String, body: [UInt8]) {
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.body = body
    }
}

/// An answer a sender requires: to a handshake, or instead of the relay's own on success.
public struct WebhookReply: Sendable, Hashable {
    /// The HTTP status code, e.g. 200.
    public var status: Int
    /// The `Content-Type` of `body`.
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A JSON answer (`body` must be JSON text).
    public static func json(_ body: [UInt8], status: Int = 200) -> WebhookReply {
        WebhookReply(status: status, contentType: "application/json", body: body)
    }

    /// A plain-text answer.
    public static func text(_ text: String, status: Int = 200) -> WebhookReply {
        WebhookReply(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// How an event type maps onto CloudEvents and topics.
public struct EventDescriptor: Sendable, Hashable {
    /// The sender's event type, e.g. `STEP_FAILED`, `orders/create`.
    public var eventType: String
    /// The topic template's `{family}`, e.g. `step`, `pull_request`.
    public var family: String
    /// The topic template's `{action}`, e.g. `failed`, `opened`; may be empty (`ping`).
    public var action: String
    /// The topic template's `{event}`: the whole type in topic-name characters, e.g. `orders.create`.
    public var topicName: String
    /// The CloudEvents `type`, e.g. `com.github.pull_request.opened`.
    public var cloudEventType: String
    /// The body field holding the id of the thing the event is about (the Kafka key).
    public var keyField: JSONPointer?
    /// Whether the event type is in the sender's catalogue.
    public var isKnown: Bool

    public init(
        eventType: String,
        family: String,
        action: String,
        topicName: String,
        cloudEventType: String,
        keyField: JSONPointer?,
        isKnown: Bool
    ) {
        self.eventType = eventType
        self.family = family
        self.action = action
        self.topicName = topicName
        self.cloudEventType = cloudEventType
        self.keyField = keyField
        self.isKnown = isKnown
    }
}

/// Why a scheme refused a request. A closed set; the HTTP layer maps each case to a status.
public enum WebhookRejection: Error, Sendable, Hashable {
    /// A required header is absent.
    case missingHeader(String)
    /// A header is present but malformed (`reason` says how; it never quotes a secret).
    case invalidHeader(String, reason: String)
    /// A signature header is absent.
    case missingSignature(header: String)
    /// A signature header does not match under any active secret, or is malformed.
    case badSignature(header: String, reason: String)
    /// The signed timestamp is outside the tolerance; `age` is negative for a timestamp in the future.
    case staleTimestamp(age: Int64, tolerance: Int64)
    /// The body is not the JSON document the scheme takes (``BodyKinds``).
    case invalidBody(JSONScanError)
    /// A body that is not JSON is not what its media type says (form fields that do not decode,
    /// text that is not UTF-8); `reason` says how.
    case malformedBody(reason: String)
    /// A body field the sender always sends is absent or malformed (after the signature passed).
    case invalidField(JSONPointer, reason: String)
    /// The signing certificate the request names is not one the relay trusts for this sender: its
    /// URL is outside the allowed prefixes, the fetch was redirected or refused, or the
    /// certificate is expired, does not chain to a trusted root or names another subject.
    case untrustedCertificate(reason: String)
    /// The signing certificate could not be fetched now (timeout, connection refused, a 5xx): the
    /// sender should retry after `retryAfter` seconds.
    case certificateUnavailable(reason: String, retryAfter: Int)
}

extension WebhookScheme {
    /// Verifies `request`, reading body fields from its body as needed.
    public func verify(_ request: WebhookRequest, now: Date) throws(WebhookRejection) -> VerifiedWebhook {
        let fields = BodyFields(
            body: request.body,
            capturing: bodyFields,
            shape: bodyKinds.jsonShape ?? .object,
            elementsAt: batchArray
        )
        return try verify(request, now: now, fields: fields)
    }
}
