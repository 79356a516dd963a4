import Foundation
import SenderKit

/// A verified webhook on its way to Kafka: everything the envelope and the router need.
public struct RelayEvent: Sendable, Hashable {
    /// The configured source name, e.g. `github`.
    public var source: String
    /// What the scheme verified.
    public var webhook: VerifiedWebhook
    /// How the event type maps onto CloudEvents and topics.
    public var descriptor: EventDescriptor
    /// The value of the descriptor's key field in the body, if the body has it.
    public var subject: String?
    /// The raw request body, forwarded byte for byte.
    public var body: [UInt8]
    /// When the relay received the request.
    public var receivedAt: Date
    /// What `body` is: the record's `content-type`.
    public var mediaType: BodyMediaType
    /// The trace the event belongs to (tracing on): the record carries it.
    public var traceHeaders: TraceHeaders? = nil

    public init(
        source: String,
        webhook: VerifiedWebhook,
        descriptor: EventDescriptor,
        subject: String?,
        body: [UInt8],
        receivedAt: Date,
        mediaType: BodyMediaType = .json
    ) {
        self.source = source
        self.webhook = webhook
        self.descriptor = descriptor
        self.subject = subject
        self.body = body
        self.receivedAt = receivedAt
        self.mediaType = mediaType
    }

    /// The Kafka key: the document's id, so one document's events stay in order on one partition;
    /// the delivery id when the body does not carry one.
    public var partitionKey: String { subject ?? webhook.deliveryID }
}
