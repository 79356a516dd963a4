import Foundation
import HTTPTypes
import RelayKafka

/// Docutray's webhook scheme: two HMAC-SHA256 signatures and a signed Unix timestamp.
///
/// - `x-docutray-signature`: HMAC(secret, raw body) proves the payload.
/// - `x-docutray-auth-signature`: HMAC(secret, `request_id|timestamp|webhook_url|event`) binds the
///   delivery id, time, endpoint and event type, so a captured delivery cannot be re-targeted.
public struct DocutrayScheme: WebhookScheme {
    /// Which signatures must be present and valid.
    public enum Policy: String, Sendable, CaseIterable {
        /// Only the body signature.
        case body
        /// Only the auth signature.
        case auth
        /// Both (the default).
        case both

        var checksBody: Bool { self != .auth }
        var checksAuth: Bool { self != .body }
    }

    /// The header names Docutray sends.
    public enum Header {
        public static let event = HTTPField.Name("x-docutray-event")!
        public static let requestID = HTTPField.Name("x-docutray-request-id")!
        public static let timestamp = HTTPField.Name("x-docutray-timestamp")!
        public static let signature = HTTPField.Name("x-docutray-signature")!
        public static let authSignature = HTTPField.Name("x-docutray-auth-signature")!

        /// Forwarded to Kafka in this order, when present.
        static let forwarded = [event, requestID, timestamp, signature, authSignature]
    }

    private let keys: [SigningKey]
    private let webhookURL: String
    private let policy: Policy
    private let timestampTolerance: Int64

    /// - Parameters:
    ///   - secrets: every active secret; a signature under any of them passes (rotation).
    ///   - webhookURL: the endpoint URL as registered in Docutray (part of the auth signature).
    ///   - policy: which signatures are required.
    ///   - timestampTolerance: how far (seconds, either direction) the signed time may be from now.
    public init(secrets: [String], webhookURL: String, policy: Policy = .both, timestampTolerance: Int64 = 300) {
        self.keys = secrets.map(SigningKey.init(secret:))
        self.webhookURL = webhookURL
        self.policy = policy
        self.timestampTolerance = timestampTolerance
    }

    public func verify(_ request: WebhookRequest, now: Date) throws(WebhookRejection) -> VerifiedWebhook {
        let headers = request.headers
        let event = try Self.required(Header.event, in: headers)
        guard EventTypeName.isValid(event) else {
            throw .invalidHeader(Header.event.canonicalName, reason: EventTypeName.rule)
        }
        let requestID = try Self.required(Header.requestID, in: headers)
        guard DeliveryID.isValid(requestID) else {
            throw .invalidHeader(Header.requestID.canonicalName, reason: DeliveryID.rule)
        }
        let timestampText = try Self.required(Header.timestamp, in: headers)
        guard let timestamp = UnixTimestamp.parse(timestampText) else {
            throw .invalidHeader(Header.timestamp.canonicalName, reason: "must be Unix seconds (digits only)")
        }
        let age = Int64(now.timeIntervalSince1970.rounded(.down)) - timestamp
        guard abs(age) <= timestampTolerance else {
            throw .staleTimestamp(age: age, tolerance: timestampTolerance)
        }
        var checks = ["timestamp"]
        if policy.checksBody {
            try verifySignature(Header.signature, in: headers, message: request.body)
            checks.append("body-signature")
        }
        if policy.checksAuth {
            let message = "\(requestID)|\(timestampText)|\(webhookURL)|\(event)"
            try verifySignature(Header.authSignature, in: headers, message: Array(message.utf8))
            checks.append("auth-signature")
        }
        let forwarded = Header.forwarded.compactMap { name in
            headers[name].map { KafkaHeader(name.canonicalName, $0) }
        }
        return VerifiedWebhook(
            eventType: event,
            deliveryID: requestID,
            signedAt: timestamp,
            checks: checks,
            forwardedHeaders: forwarded
        )
    }

    public func describe(eventType: String) -> EventDescriptor {
        DocutrayCatalogue.describe(eventType)
    }

    public var knownEventTypes: [String] { DocutrayCatalogue.knownEventTypes }

    private func verifySignature(
        _ name: HTTPField.Name,
        in headers: HTTPFields,
        message: [UInt8]
    ) throws(WebhookRejection) {
        let values = headers[values: name]
        guard let value = values.first else { throw .missingSignature(header: name.canonicalName) }
        guard values.count == 1 else {
            throw .badSignature(header: name.canonicalName, reason: "sent more than once")
        }
        guard let expected = HMACSignature.parse(value) else {
            throw .badSignature(header: name.canonicalName, reason: "is not 'sha256=' followed by 64 hex digits")
        }
        guard HMACSignature.matches(expected, message: message, keys: keys) else {
            throw .badSignature(header: name.canonicalName, reason: "does not match under any active secret")
        }
    }

    /// The single value of a required header.
    private static func required(_ name: HTTPField.Name, in headers: HTTPFields) throws(WebhookRejection) -> String {
        let values = headers[values: name]
        guard let value = values.first else { throw .missingHeader(name.canonicalName) }
        guard values.count == 1 else { throw .invalidHeader(name.canonicalName, reason: "sent more than once") }
        return value
    }
}

/// Produces Docutray's signature headers, for `webhook-relay sign`, load generators and tests.
public struct DocutraySigner: Sendable {
    public var secret: String
    public var webhookURL: String

    public init(secret: String, webhookURL: String) {
        self.secret = secret
        self.webhookURL = webhookURL
    }

    /// Every header of a Docutray delivery of `body`, in the order Docutray sends them.
    public func headers(
        body: [UInt8],
        event: String,
        requestID: String,
        timestamp: Int64
    ) -> [(name: String, value: String)] {
        let key = SigningKey(secret: secret)
        let authMessage = Array("\(requestID)|\(timestamp)|\(webhookURL)|\(event)".utf8)
        return [
            ("content-type", "application/json"),
            (DocutrayScheme.Header.event.canonicalName, event),
            (DocutrayScheme.Header.requestID.canonicalName, requestID),
            (DocutrayScheme.Header.timestamp.canonicalName, String(timestamp)),
            (DocutrayScheme.Header.signature.canonicalName, HMACSignature.sign(body, key: key)),
            (DocutrayScheme.Header.authSignature.canonicalName, HMACSignature.sign(authMessage, key: key)),
        ]
    }
}
