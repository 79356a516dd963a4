import Foundation
import HTTPTypes
import SenderKit

/// A configurable HMAC scheme for senders without a scheme of their own: one signature header,
/// SHA-1/256/512, hex or base64 with an exact prefix, over the body or a signed-string template
/// (`{timestamp}.{body}` by default with a timestamp header; `v0:{timestamp}:{body}`,
/// `{url}{body}`, `{id}.{timestamp}.{body}`…); the event type and delivery id come from a header
/// or a body field.
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

    /// What is signed: literal text and the parts of the request named by `{id}`, `{timestamp}`,
    /// `{method}`, `{url}` and `{body}`, e.g. `v0:{timestamp}:{body}` or `{url}{body}`.
    public struct SignedString: Sendable, Hashable, CustomStringConvertible {
        public enum Part: Sendable, Hashable {
            case literal(String)
            case id, timestamp, method, url, body
        }

        public let parts: [Part]

        /// The body alone, or `{timestamp}.{body}` when the time is signed: the defaults.
        public static let body = SignedString(parts: [.body])
        public static let timestampDotBody = SignedString(parts: [.timestamp, .literal("."), .body])

        public init(parts: [Part]) { self.parts = parts }

        /// Parses a template, or says what is wrong with it.
        public static func parse(_ template: String) -> Result<SignedString, TemplateError> {
            var parts: [Part] = []
            var literal = ""
            var rest = Substring(template)
            while let open = rest.firstIndex(of: "{") {
                literal += rest[..<open]
                guard let close = rest[open...].firstIndex(of: "}") else {
                    return .failure(.init("has a '{' without '}'"))
                }
                let name = rest[rest.index(after: open)..<close]
                let part: Part
                switch name {
                case "id": part = .id
                case "timestamp": part = .timestamp
                case "method": part = .method
                case "url": part = .url
                case "body": part = .body
                default:
                    return .failure(
                        .init("names {\(name.prefix(40))}; the parts are {id}, {timestamp}, {method}, {url} and {body}")
                    )
                }
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                parts.append(part)
                rest = rest[rest.index(after: close)...]
            }
            literal += rest
            guard !literal.contains("}") else { return .failure(.init("has a '}' without '{'")) }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            guard parts.filter({ $0 == .body }).count == 1 else {
                return .failure(.init("must contain {body} exactly once: the signature has to cover the body"))
            }
            return .success(SignedString(parts: parts))
        }

        public func contains(_ part: Part) -> Bool { parts.contains(part) }

        public var description: String {
            parts.map { part in
                switch part {
                case .literal(let text): text
                case .id: "{id}"
                case .timestamp: "{timestamp}"
                case .method: "{method}"
                case .url: "{url}"
                case .body: "{body}"
                }
            }.joined()
        }

        /// The bytes to sign.
        func message(id: String?, timestamp: String?, method: String, url: String?, body: [UInt8]) -> [UInt8] {
            var message: [UInt8] = []
            message.reserveCapacity(body.count + 64)
            for part in parts {
                switch part {
                case .literal(let text): message += Array(text.utf8)
                case .id: message += Array((id ?? "").utf8)
                case .timestamp: message += Array((timestamp ?? "").utf8)
                case .method: message += Array(method.utf8)
                case .url: message += Array((url ?? "").utf8)
                case .body: message += body
                }
            }
            return message
        }
    }

    /// Why a signed-string template cannot be used.
    public struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
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
        /// What is signed (``SignedString``).
        public var signedString: SignedString
        /// The URL the sender calls (`public_url`), for `{url}`.
        public var url: String?

        public init(
            signatureHeader: HTTPField.Name,
            algorithm: HMACAlgorithm = .sha256,
            encoding: Encoding = .hex,
            prefix: String = "",
            timestampHeader: HTTPField.Name? = nil,
            timestampTolerance: Int64 = 300,
            eventType: Field = .body("/type"),
            deliveryID: Field = .body("/id"),
            signedString: SignedString? = nil,
            url: String? = nil
        ) {
            self.signedString = signedString ?? (timestampHeader == nil ? .body : .timestampDotBody)
            self.url = url
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
        var signedAt: Int64?
        var timestampText: String?
        if let timestampHeader = options.timestampHeader {
            let text = try request.headers.required(timestampHeader)
            signedAt = try UnixTimestamp.fresh(
                text,
                header: timestampHeader.canonicalName,
                now: now,
                tolerance: options.timestampTolerance
            )
            timestampText = text
        }
        var signedID: String?
        if options.signedString.contains(.id), case .header(let header) = options.deliveryID {
            signedID = try request.headers.required(header)
        }
        let content = options.signedString.message(
            id: signedID,
            timestamp: timestampText,
            method: request.method,
            url: request.url ?? options.url,
            body: request.body
        )
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
        if options.signedString.contains(.id) { parts.insert(.deliveryID) }
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
        if let timestampHeader = options.timestampHeader {
            headers.append((timestampHeader.canonicalName, String(delivery.timestamp)))
        }
        let id = delivery.deliveryID(orNew: "dlv_")
        let content = options.signedString.message(
            id: id,
            timestamp: String(delivery.timestamp),
            method: "POST",
            url: options.url,
            body: delivery.body
        )
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
            headers.append((name.canonicalName, id))
        }
        return headers
    }

    public var signedURL: String? { options.signedString.contains(.url) ? options.url : nil }
}
