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

    /// What to tell a sender whose request is not `application/json`, if there is something to add
    /// (GitHub: set the hook's content type).
    var mediaTypeHint: String? { get }

    /// What the operator chose that weakens verification, one sentence each, logged as warnings at
    /// start (e.g. a policy that checks only one of two signatures).
    var warnings: [String] { get }
}

extension WebhookScheme {
    /// Whether deliveries carry a signed time; without one, only the dedup window stops replays.
    public var signsTimestamps: Bool { signedParts.contains(.timestamp) }
    public var checksTimestamps: Bool { signsTimestamps }
    public var bodyFields: [JSONPointer] { [] }
    public var knownEventTypes: [String] { [] }
    public var mediaTypeHint: String? { nil }
    public var warnings: [String] { [] }
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

/// One inbound webhook as the scheme sees it: the raw headers and the raw body bytes.
public struct WebhookRequest: Sendable {
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(headers: HTTPFields, body: [UInt8]) {
        self.headers = headers
        self.body = body
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
    /// Set when the sender expects an answer instead of a published event (Slack's URL check).
    public var reply: [UInt8]?

    public init(
        eventType: String,
        deliveryID: String,
        signedAt: Int64?,
        checks: [String],
        forwardedHeaders: [ForwardedHeader],
        reply: [UInt8]? = nil
    ) {
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.signedAt = signedAt
        self.checks = checks
        self.forwardedHeaders = forwardedHeaders
        self.reply = reply
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
    /// The body is not one JSON object.
    case invalidBody(JSONScanError)
    /// A body field the sender always sends is absent or malformed (after the signature passed).
    case invalidField(JSONPointer, reason: String)
}

extension WebhookScheme {
    /// Verifies `request`, reading body fields from its body as needed.
    public func verify(_ request: WebhookRequest, now: Date) throws(WebhookRejection) -> VerifiedWebhook {
        try verify(request, now: now, fields: BodyFields(body: request.body, capturing: bodyFields))
    }
}
