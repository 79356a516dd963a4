import Foundation
import HTTPTypes
import SenderKit

/// A configurable HMAC scheme for senders without a scheme of their own: one signature header,
/// SHA-1/256/512, hex or base64 with an exact prefix, optionally over `{timestamp}.{body}` with a
/// timestamp header; the event type and delivery id come from a header or a body field.
public struct GenericHMACScheme: WebhookScheme, WebhookSigner {
    /// How the signature is written after its prefix.
    public enum Encoding: String, Sendable, CaseIterable {
        /// Hex digits, either case, twice the digest length.
        case hex
        /// Standard, padded base64 of exactly the digest.
        case base64
    }

    /// Where a value comes from: a request header, or a string or number in the body.
    public enum Field: Sendable, Hashable, CustomStringConvertible {
        case header(HTTPField.Name)
        case body(JSONPointer)

        /// A JSON pointer (`/id`) or a header name (`X-Request-Id`); `nil` for anything else.
        public init?(_ text: String) {
            if text.hasPrefix("/") {
                guard let pointer = JSONPointer(text) else { return nil }
                self = .body(pointer)
            } else {
                guard let name = HTTPField.Name(text) else { return nil }
                self = .header(name)
            }
        }

        public var description: String {
            switch self {
            case .header(let name): name.canonicalName
            case .body(let pointer): pointer.description
            }
        }
    }

    /// What a source configures.
    public struct Options: Sendable, Hashable {
        public var signatureHeader: HTTPField.Name
        public var algorithm: HMACAlgorithm
        public var encoding: Encoding
        public var prefix: String
        public var timestampHeader: HTTPField.Name?
        public var timestampTolerance: Int64
        public var eventType: Field
        public var deliveryID: Field

        public init(
            signatureHeader: HTTPField.Name,
            algorithm: HMACAlgorithm = .sha256,
            encoding: Encoding = .hex,
            prefix: String = "",
            timestampHeader: HTTPField.Name? = nil,
            timestampTolerance: Int64 = 300,
            eventType: Field = .body("/type"),
            deliveryID: Field = .body("/id")
        ) {
            self.signatureHeader = signatureHeader
            self.algorithm = algorithm
            self.encoding = encoding
            self.prefix = prefix
            self.timestampHeader = timestampHeader
            self.timestampTolerance = timestampTolerance
            self.eventType = eventType
            self.deliveryID = deliveryID
        }
    }

    public let options: Options
    private let keys: [HMACKey]

    public init(secrets: [String], options: Options) {
        self.options = options
        self.keys = secrets.map { HMACKey(secret: $0, algorithm: options.algorithm) }
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = options.signatureHeader.canonicalName
        guard let value = try request.headers.single(options.signatureHeader) else {
            throw .missingSignature(header: name)
        }
        guard value.hasPrefix(options.prefix) else {
            throw .badSignature(header: name, reason: "does not start with '\(options.prefix)'")
        }
        let encoded = value.dropFirst(options.prefix.count)
        let digest = options.algorithm.byteCount
        let code: [UInt8]?
        switch options.encoding {
        case .hex: code = encoded.utf8.count == 2 * digest ? Hex.decode(encoded) : nil
        case .base64: code = Base64.decode(encoded).flatMap { $0.count == digest ? $0 : nil }
        }
        guard let code else {
            throw .badSignature(
                header: name,
                reason:
                    "is not \(options.encoding.rawValue) of a \(options.algorithm.rawValue) HMAC after '\(options.prefix)'"
            )
        }
        var content = request.body
        var signedAt: Int64?
        if let timestampHeader = options.timestampHeader {
            let text = try request.headers.required(timestampHeader)
            signedAt = try UnixTimestamp.fresh(
                text,
                header: timestampHeader.canonicalName,
                now: now,
                tolerance: options.timestampTolerance
            )
            content = Array(text.utf8) + [UInt8(ascii: ".")] + request.body
        }
        let matched = content.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let eventType = try read(options.eventType, request: request, fields: fields) ?? "unknown"
        guard EventName.isValid(eventType) else { throw Self.invalid(options.eventType, EventName.rule) }
        guard let id = try read(options.deliveryID, request: request, fields: fields), !id.isEmpty else {
            throw Self.invalid(options.deliveryID, "is missing; it names the delivery")
        }
        guard DeliveryID.isValid(id) else { throw Self.invalid(options.deliveryID, DeliveryID.rule) }
        var forwarded = [options.signatureHeader]
        if let timestampHeader = options.timestampHeader { forwarded.append(timestampHeader) }
        for case .header(let header) in [options.eventType, options.deliveryID] { forwarded.append(header) }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: signedAt,
            checks: (signedAt == nil ? [] : ["timestamp"]) + ["signature"],
            forwardedHeaders: request.headers.forwarded(forwarded)
        )
    }

    private func read(_ field: Field, request: WebhookRequest, fields: BodyFields) throws(WebhookRejection) -> String? {
        switch field {
        case .header(let name): try request.headers.single(name)
        case .body(let pointer): try fields.value(at: pointer)
        }
    }

    private static func invalid(_ field: Field, _ reason: String) -> WebhookRejection {
        switch field {
        case .header(let name): .invalidHeader(name.canonicalName, reason: reason)
        case .body(let pointer): .invalidField(pointer, reason: reason)
        }
    }

    public var bodyFields: [JSONPointer] {
        [options.eventType, options.deliveryID].compactMap { field in
            if case .body(let pointer) = field { pointer } else { nil }
        }
    }

    public func describe(eventType: String) -> EventDescriptor {
        EventName.describe(eventType, cloudEventTypePrefix: nil, keyField: nil, isKnown: eventType != "unknown")
    }

    /// The body, the time when a timestamp header is configured, and the event type and delivery id
    /// when they are read from the body.
    public var signedParts: SignedParts {
        var parts: SignedParts = .body
        if options.timestampHeader != nil { parts.insert(.timestamp) }
        if case .body = options.eventType { parts.insert(.eventType) }
        if case .body = options.deliveryID { parts.insert(.deliveryID) }
        return parts
    }

    public var loggedHeaders: LoggedHeaders {
        func header(_ field: Field) -> [HTTPField.Name] {
            if case .header(let name) = field { [name] } else { [] }
        }
        return LoggedHeaders(deliveryID: header(options.deliveryID), eventType: header(options.eventType))
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let key = keys.first else { throw SigningError("no secret is configured") }
        var headers: [(name: String, value: String)] = [("content-type", "application/json")]
        var content = delivery.body
        if let timestampHeader = options.timestampHeader {
            headers.append((timestampHeader.canonicalName, String(delivery.timestamp)))
            content = Array("\(delivery.timestamp).".utf8) + delivery.body
        }
        let code = key.code(for: content)
        let encoded = options.encoding == .hex ? Hex.encode(code) : Base64.encode(code)
        headers.append((options.signatureHeader.canonicalName, options.prefix + encoded))
        if case .header(let name) = options.eventType {
            guard let event = delivery.eventType else {
                throw SigningError("this source reads the event type from \(name.canonicalName): pass --event")
            }
            headers.append((name.canonicalName, event))
        }
        if case .header(let name) = options.deliveryID {
            headers.append((name.canonicalName, delivery.deliveryID(orNew: "dlv_")))
        }
        return headers
    }
}
