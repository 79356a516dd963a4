import Foundation
import HTTPTypes
import SenderKit

/// Docutray's webhook scheme: two HMAC-SHA256 signatures and a signed Unix timestamp.
///
/// - `x-docutray-signature`: HMAC(secret, raw body) proves the payload.
/// - `x-docutray-auth-signature`: HMAC(secret, `request_id|timestamp|webhook_url|event`) binds the
///   delivery id, time, endpoint and event type, so a captured delivery cannot be re-targeted.
public struct DocutrayScheme: WebhookScheme, WebhookSigner {
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

        var signedParts: SignedParts {
            switch self {
            case .body: .body
            case .auth: [.deliveryID, .eventType, .timestamp]
            case .both: .all
            }
        }
    }

    /// The header names Docutray sends.
    public enum Header {
        public static let event = HTTPField.Name("x-docutray-event")!
        public static let requestID = HTTPField.Name("x-docutray-request-id")!
        public static let timestamp = HTTPField.Name("x-docutray-timestamp")!
        public static let signature = HTTPField.Name("x-docutray-signature")!
        public static let authSignature = HTTPField.Name("x-docutray-auth-signature")!

    }

    private let keys: [SigningKey]
    private let secrets: [String]
    /// The endpoint URL as registered in Docutray (part of the auth signature).
    public let webhookURL: String
    /// Which signatures are required.
    public let policy: Policy
    /// How far (seconds, either direction) the signed time may be from now.
    public let timestampTolerance: Int64
    /// What `verify` checks, as reported in `VerifiedWebhook.checks`.
    private let checks: [String]

    /// - Parameters:
    ///   - secrets: every active secret; a signature under any of them passes (rotation).
    ///   - webhookURL: the endpoint URL as registered in Docutray (part of the auth signature).
    ///   - policy: which signatures are required.
    ///   - timestampTolerance: how far (seconds, either direction) the signed time may be from now.
    public init(secrets: [String], webhookURL: String, policy: Policy = .both, timestampTolerance: Int64 = 300) {
        self.keys = secrets.map(SigningKey.init(secret:))
        self.secrets = secrets
        self.webhookURL = webhookURL
        self.policy = policy
        self.timestampTolerance = timestampTolerance
        // The time counts as verified only where the auth signature signs it.
        self.checks =
            (policy.checksAuth ? ["timestamp"] : []) + (policy.checksBody ? ["body-signature"] : [])
            + (policy.checksAuth ? ["auth-signature"] : [])
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let found = FoundHeaders(request.headers)
        let event = try found.event.required(Header.event)
        guard DocutrayEventType.isValid(event) else {
            throw .invalidHeader(Header.event.canonicalName, reason: DocutrayEventType.rule)
        }
        let requestID = try found.requestID.required(Header.requestID)
        guard DeliveryID.isValid(requestID) else {
            throw .invalidHeader(Header.requestID.canonicalName, reason: DeliveryID.rule)
        }
        let timestampText = try found.timestamp.required(Header.timestamp)
        let timestamp = try UnixTimestamp.fresh(
            timestampText,
            header: Header.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        if policy.checksBody {
            let failure = request.body.withUnsafeBytes { body in
                signatureFailure(found.signature, Header.signature, message: body)
            }
            if let failure { throw failure }
        }
        if policy.checksAuth {
            var message: [UInt8] = []
            message.reserveCapacity(
                requestID.utf8.count + timestampText.utf8.count + webhookURL.utf8.count + event.utf8.count + 3
            )
            message += requestID.utf8
            message.append(UInt8(ascii: "|"))
            message += timestampText.utf8
            message.append(UInt8(ascii: "|"))
            message += webhookURL.utf8
            message.append(UInt8(ascii: "|"))
            message += event.utf8
            let failure = message.withUnsafeBytes { message in
                signatureFailure(found.authSignature, Header.authSignature, message: message)
            }
            if let failure { throw failure }
        }
        return VerifiedWebhook(
            eventType: event,
            deliveryID: requestID,
            signedAt: policy.checksAuth ? timestamp : nil,
            checks: checks,
            forwardedHeaders: found.forwarded
        )
    }

    public func describe(eventType: String) -> EventDescriptor {
        DocutrayCatalogue.describe(eventType)
    }

    public var knownEventTypes: [String] { DocutrayCatalogue.knownEventTypes }

    /// The body signature covers the body; the auth signature covers the delivery id, time and event
    /// type (and the URL). `both` covers everything.
    public var signedParts: SignedParts { policy.signedParts }

    /// The timestamp is checked for freshness under every policy, signed or not.
    public var checksTimestamps: Bool { true }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(deliveryID: [Header.requestID], eventType: [Header.event])
    }

    public var signedURL: String? { webhookURL.isEmpty ? nil : webhookURL }

    public var warnings: [String] {
        switch policy {
        case .both:
            []
        case .body:
            [
                "verify=body: the request id, timestamp and event type are not signed; anyone who reads a topic "
                    + "can re-send a body under a new id or type (the same body is still a duplicate within "
                    + "dedup_window). Use verify=both when Docutray sends both signatures."
            ]
        case .auth:
            [
                "verify=auth: the body is not signed; a delivery's auth headers could carry another body. "
                    + "Use verify=both when Docutray sends both signatures."
            ]
        }
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let event = delivery.eventType else {
            throw SigningError("Docutray deliveries name their event type: pass --event, e.g. CONVERSION_COMPLETED")
        }
        guard DocutrayEventType.isValid(event) else { throw SigningError("--event \(DocutrayEventType.rule)") }
        guard let secret = secrets.first else { throw SigningError("no secret is configured") }
        return DocutraySigner(secret: secret, webhookURL: webhookURL).headers(
            body: delivery.body,
            event: event,
            requestID: delivery.deliveryID(orNew: "req_"),
            timestamp: delivery.timestamp
        )
    }

    /// Why the signature header `name` does not sign `message`, or `nil` if it does.
    private func signatureFailure(
        _ found: FoundHeaders.Value,
        _ name: HTTPField.Name,
        message: UnsafeRawBufferPointer
    ) -> WebhookRejection? {
        guard let value = found.value else { return .missingSignature(header: name.canonicalName) }
        guard !found.repeated else {
            return .badSignature(header: name.canonicalName, reason: "sent more than once")
        }
        guard HMACSignature.isWellFormed(value) else {
            return .badSignature(header: name.canonicalName, reason: "is not 'sha256=' followed by 64 hex digits")
        }
        guard HMACSignature.matches(value, message: message, keys: keys) else {
            return .badSignature(header: name.canonicalName, reason: "does not match under any active secret")
        }
        return nil
    }
}

/// Docutray's headers of one request, found in a single pass over its fields.
private struct FoundHeaders {
    struct Value {
        var value: String?
        var repeated = false

        mutating func add(_ text: String) {
            if value == nil { value = text } else { repeated = true }
        }

        /// The single value of a required header.
        func required(_ name: HTTPField.Name) throws(WebhookRejection) -> String {
            guard let value else { throw .missingHeader(name.canonicalName) }
            guard !repeated else { throw .invalidHeader(name.canonicalName, reason: "sent more than once") }
            return value
        }
    }

    typealias Header = DocutrayScheme.Header

    var event = Value()
    var requestID = Value()
    var timestamp = Value()
    var signature = Value()
    var authSignature = Value()

    init(_ headers: HTTPFields) {
        for field in headers {
            switch field.name {
            case Header.event: event.add(field.value)
            case Header.requestID: requestID.add(field.value)
            case Header.timestamp: timestamp.add(field.value)
            case Header.signature: signature.add(field.value)
            case Header.authSignature: authSignature.add(field.value)
            default: break
            }
        }
    }

    /// The headers forwarded to Kafka, in Docutray's order, when present.
    var forwarded: [ForwardedHeader] {
        var headers: [ForwardedHeader] = []
        headers.reserveCapacity(5)
        func add(_ name: HTTPField.Name, _ found: Value) {
            if let value = found.value { headers.append(ForwardedHeader(name.canonicalName, value)) }
        }
        add(Header.event, event)
        add(Header.requestID, requestID)
        add(Header.timestamp, timestamp)
        add(Header.signature, signature)
        add(Header.authSignature, authSignature)
        return headers
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
