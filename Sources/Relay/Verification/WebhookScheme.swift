import Foundation
import HTTPTypes
import RelayKafka

/// A webhook sender's way of authenticating deliveries and naming its events.
///
/// Contract: ``verify(_:now:)`` accepts a request only if it proves to come from the sender (a valid
/// signature under an active secret, within the sender's freshness window); it must compare secrets in
/// constant time and must never put a secret into a rejection. ``describe(eventType:)`` never fails:
/// an event type the scheme does not know is still described, so that a verified event is always
/// published. Adding a sender (Standard Webhooks, GitHub, Stripe…) means adding one conforming type;
/// the pipeline (dedup, envelope, routing, delivery) does not change.
public protocol WebhookScheme: Sendable {
    /// Checks headers, freshness and signatures of one request.
    func verify(_ request: WebhookRequest, now: Date) throws(WebhookRejection) -> VerifiedWebhook

    /// The CloudEvents type, family, action and key field of an event type.
    func describe(eventType: String) -> EventDescriptor

    /// The event types the sender is known to send (their topics are looked up at start).
    var knownEventTypes: [String] { get }
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

/// What a scheme established about an accepted request.
public struct VerifiedWebhook: Sendable, Hashable {
    /// The sender's event type, e.g. `CONVERSION_COMPLETED`.
    public var eventType: String
    /// The sender's unique id of this delivery; becomes `ce_id` and the dedup key.
    public var deliveryID: String
    /// When the sender signed the delivery (Unix seconds).
    public var signedAt: Int64
    /// The checks that passed, in order, e.g. `["timestamp", "body-signature", "auth-signature"]`.
    public var checks: [String]
    /// The sender's headers to forward to Kafka unchanged, so consumers can verify again.
    public var forwardedHeaders: [KafkaHeader]

    public init(
        eventType: String,
        deliveryID: String,
        signedAt: Int64,
        checks: [String],
        forwardedHeaders: [KafkaHeader]
    ) {
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.signedAt = signedAt
        self.checks = checks
        self.forwardedHeaders = forwardedHeaders
    }
}

/// How an event type maps onto CloudEvents and topics.
public struct EventDescriptor: Sendable, Hashable {
    /// The sender's event type, e.g. `STEP_FAILED`.
    public var eventType: String
    /// Lowercase family, e.g. `step`.
    public var family: String
    /// Lowercase action, e.g. `failed`.
    public var action: String
    /// The CloudEvents `type`, e.g. `com.docutray.step.failed`.
    public var cloudEventType: String
    /// The top-level body field holding the id of the thing the event is about (the Kafka key).
    public var keyField: String?
    /// Whether the event type is in the scheme's catalogue.
    public var isKnown: Bool

    public init(
        eventType: String,
        family: String,
        action: String,
        cloudEventType: String,
        keyField: String?,
        isKnown: Bool
    ) {
        self.eventType = eventType
        self.family = family
        self.action = action
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
}
