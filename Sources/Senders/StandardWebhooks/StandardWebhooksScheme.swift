import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Standard Webhooks (the scheme Svix uses): `v1,` + base64 HMAC-SHA256 over
/// `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded `whsec_` secret; `v1a,`
/// ed25519 signatures checked against `whpk_` public keys. Svix's `svix-*` headers are read too.
public struct StandardWebhooksScheme: WebhookScheme, WebhookSigner {
    /// One family of header names (`webhook-*` or `svix-*`).
    public struct Headers: Sendable {
        public let id: HTTPField.Name
        public let timestamp: HTTPField.Name
        public let signature: HTTPField.Name

        public static let standard = Headers(
            id: HTTPField.Name("webhook-id")!,
            timestamp: HTTPField.Name("webhook-timestamp")!,
            signature: HTTPField.Name("webhook-signature")!
        )
        public static let svix = Headers(
            id: HTTPField.Name("svix-id")!,
            timestamp: HTTPField.Name("svix-timestamp")!,
            signature: HTTPField.Name("svix-signature")!
        )
    }

    /// The body field naming the event type (the specification's payload has `type`).
    public static let typeField: JSONPointer = "/type"
    /// The body field naming the resource the event is about (the Kafka key).
    public static let keyField: JSONPointer = "/data/id"

    /// The most ed25519 checks (`v1a` entries times `whpk_` keys) one request may ask for: each
    /// hashes the whole body again, so the list, not only its length, is capped.
    public static let maximumPublicKeyChecks = 4

    private let hmacKeys: [HMACKey]
    /// Parsed once at start, never per request.
    private let publicKeys: [Ed25519PublicKey]
    private let signingKey: HMACKey?
    private let timestampTolerance: Int64

    /// - Parameter secrets: parsed secrets (``StandardWebhooksSecret``); a signature under any passes.
    public init(secrets: [StandardWebhooksSecret], timestampTolerance: Int64 = 300) {
        var hmacKeys: [HMACKey] = []
        var publicKeys: [Ed25519PublicKey] = []
        for secret in secrets {
            switch secret {
            case .symmetric(let bytes): hmacKeys.append(HMACKey(bytes: bytes))
            case .publicKey(let key): publicKeys.append(key)
            }
        }
        self.hmacKeys = hmacKeys
        self.publicKeys = publicKeys
        self.signingKey = hmacKeys.first
        self.timestampTolerance = timestampTolerance
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let names =
            request.headers[Headers.standard.id] == nil && request.headers[Headers.svix.id] != nil
            ? Headers.svix : Headers.standard
        let id = try request.headers.required(names.id)
        guard DeliveryID.isValid(id) else { throw .invalidHeader(names.id.canonicalName, reason: DeliveryID.rule) }
        let timestampText = try request.headers.required(names.timestamp)
        let timestamp = try UnixTimestamp.fresh(
            timestampText,
            header: names.timestamp.canonicalName,
            now: now,
            tolerance: timestampTolerance
        )
        guard let signatures = try request.headers.single(names.signature) else {
            throw .missingSignature(header: names.signature.canonicalName)
        }
        let check = try checkSignatures(
            signatures,
            header: names.signature.canonicalName,
            content: Array("\(id).\(timestampText).".utf8) + request.body
        )
        let eventType = try fields.value(at: Self.typeField) ?? "unknown"
        guard EventName.isValid(eventType) else { throw .invalidField(Self.typeField, reason: EventName.rule) }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: timestamp,
            checks: ["timestamp", check],
            forwardedHeaders: request.headers.forwarded([names.id, names.timestamp, names.signature])
        )
    }

    /// Which check passed (`signature` or `signature-v1a`), or why none did.
    private func checkSignatures(
        _ header: String,
        header name: String,
        content: [UInt8]
    ) throws(WebhookRejection) -> String {
        var symmetric: [[UInt8]] = []
        var asymmetric: [[UInt8]] = []
        // Entries without a comma, or of another version, are skipped rather than fatal.
        for entry in try SignatureList.entries(header, separator: " ", name: name, uncounted: \.isEmpty) {
            guard let comma = entry.firstIndex(of: ",") else { continue }
            let version = entry[..<comma]
            guard let bytes = Base64.decode(entry[entry.index(after: comma)...]) else { continue }
            if version == "v1", bytes.count == SHA256.byteCount { symmetric.append(bytes) }
            if version == "v1a", bytes.count == 64 { asymmetric.append(bytes) }
        }
        guard !symmetric.isEmpty || (!asymmetric.isEmpty && !publicKeys.isEmpty) else {
            throw .badSignature(header: name, reason: "has no well-formed v1 signature")
        }
        if content.withUnsafeBytes({ HMACKey.anyMatches(symmetric, message: $0, keys: hmacKeys) }) {
            return "signature"
        }
        guard asymmetric.count * publicKeys.count <= Self.maximumPublicKeyChecks else {
            throw .badSignature(
                header: name,
                reason: "carries \(asymmetric.count) v1a signatures; at most \(Self.maximumPublicKeyChecks) "
                    + "ed25519 checks are made (v1a signatures times whpk_ keys)"
            )
        }
        var verified = false
        for key in publicKeys {
            for signature in asymmetric where key.key.isValidSignature(signature, for: content) { verified = true }
        }
        guard verified else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        return "signature-v1a"
    }

    public var bodyFields: [JSONPointer] { [Self.typeField] }

    public func describe(eventType: String) -> EventDescriptor {
        EventName.describe(
            eventType,
            cloudEventTypePrefix: nil,
            keyField: Self.keyField,
            isKnown: eventType != "unknown"
        )
    }

    /// `{id}.{timestamp}.{body}`; the event type is read from the signed body.
    public var signedParts: SignedParts { .all }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(deliveryID: [Headers.standard.id, Headers.svix.id])
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let signingKey else { throw SigningError("no whsec_ secret is configured (whpk_ keys only verify)") }
        let id = delivery.deliveryID(orNew: "msg_")
        let content = Array("\(id).\(delivery.timestamp).".utf8) + delivery.body
        return [
            ("content-type", "application/json"),
            (Headers.standard.id.canonicalName, id),
            (Headers.standard.timestamp.canonicalName, String(delivery.timestamp)),
            (Headers.standard.signature.canonicalName, "v1," + Base64.encode(signingKey.code(for: content))),
        ]
    }
}

/// A Standard Webhooks secret as an operator pastes it: `whsec_` + base64 of 24 to 64 bytes (the
/// bare base64, and base64 without its `=` padding, are accepted too), or `whpk_` + base64 of a
/// 32-byte ed25519 public key. Anything else is refused at start, never silently mangled.
public enum StandardWebhooksSecret: Sendable {
    case symmetric([UInt8])
    case publicKey(Ed25519PublicKey)

    /// Human text of the rule, for error messages.
    public static let rule =
        "must be whsec_ followed by standard, padded base64 of 24 to 64 bytes, or whpk_ followed by base64 of a 32-byte ed25519 public key"

    /// Parses `text` strictly; `nil` if it is not one of the two forms.
    public init?(_ text: String) {
        if text.hasPrefix("whpk_") {
            guard let bytes = Base64.decode(text.dropFirst(5)), bytes.count == 32,
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
            else { return nil }
            self = .publicKey(Ed25519PublicKey(key: key))
            return
        }
        var encoded = String(text.hasPrefix("whsec_") ? text.dropFirst(6) : Substring(text))
        // Secrets pasted without their `=` padding are common; the padding carries no key bits.
        if encoded.utf8.count % 4 >= 2 { encoded += String(repeating: "=", count: 4 - encoded.utf8.count % 4) }
        guard let bytes = Base64.decode(encoded), (24...64).contains(bytes.count) else { return nil }
        self = .symmetric(bytes)
    }
}

extension StandardWebhooksSecret: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.symmetric(let left), .symmetric(let right)): left == right
        case (.publicKey(let left), .publicKey(let right)): left.key.rawRepresentation == right.key.rawRepresentation
        default: false
        }
    }
}

/// An ed25519 public key parsed once, at start.
///
/// `@unchecked Sendable`: swift-crypto does not mark the key `Sendable`, but it is an immutable
/// value (its 32 bytes) that verification only reads.
public struct Ed25519PublicKey: @unchecked Sendable {
    public let key: Curve25519.Signing.PublicKey
}
