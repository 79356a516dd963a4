import Crypto
import Foundation
import HTTPTypes
import RelayPrimitives
import SenderCertificates
import SenderKit
import _CryptoExtras

/// PayPal REST webhooks: `PAYPAL-TRANSMISSION-SIG` is the base64 SHA256withRSA signature of
/// `{transmission id}|{transmission time}|{webhook id}|{CRC-32 of the body, decimal}` under the
/// certificate at `PAYPAL-CERT-URL` (fetched under the source's allowed prefixes and checked), the
/// webhook id being the source's `webhook_id`.
///
/// The signature covers the body through a CRC-32 only, which anyone can match with another body.
/// So the body is not treated as signed: what is new is decided by the body's bytes, and a
/// transmission seen before with another body is refused (a forgery built on a captured signature),
/// within the signed time's window, outside of which the transmission is refused as stale.
public struct PayPalScheme: CataloguedScheme {
    /// CloudEvents types are `com.paypal.<event type>`.
    public static let cloudEventTypePrefix = "com.paypal"

    /// The header names PayPal sends.
    public enum Header {
        public static let transmissionID = HTTPField.Name("paypal-transmission-id")!
        public static let transmissionTime = HTTPField.Name("paypal-transmission-time")!
        public static let signature = HTTPField.Name("paypal-transmission-sig")!
        public static let certificateURL = HTTPField.Name("paypal-cert-url")!
        public static let algorithm = HTTPField.Name("paypal-auth-algo")!
        public static let version = HTTPField.Name("paypal-auth-version")!
    }

    public enum Field {
        public static let id: JSONPointer = "/id"
        public static let eventType: JSONPointer = "/event_type"
    }

    /// The Kafka key: one resource's (capture's, subscription's, dispute's) events stay in order.
    public static let keyField: JSONPointer = "/resource/id"

    /// Event types PayPal commonly sends; others go to the overflow topic unless named in `topics`
    /// (the type is read from a body only a CRC-32 covers).
    public static let catalogue: Set<String> = [
        "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED", "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED",
        "PAYMENT.CAPTURE.DECLINED", "PAYMENT.SALE.COMPLETED", "PAYMENT.SALE.DENIED", "PAYMENT.SALE.PENDING",
        "PAYMENT.SALE.REFUNDED", "PAYMENT.SALE.REVERSED", "CHECKOUT.ORDER.APPROVED", "CHECKOUT.ORDER.COMPLETED",
        "CHECKOUT.ORDER.DECLINED", "CHECKOUT.ORDER.SAVED", "CHECKOUT.ORDER.VOIDED", "BILLING.SUBSCRIPTION.CREATED",
        "BILLING.SUBSCRIPTION.ACTIVATED", "BILLING.SUBSCRIPTION.UPDATED", "BILLING.SUBSCRIPTION.EXPIRED",
        "BILLING.SUBSCRIPTION.CANCELLED", "BILLING.SUBSCRIPTION.SUSPENDED", "BILLING.SUBSCRIPTION.RE-ACTIVATED",
        "BILLING.SUBSCRIPTION.PAYMENT.FAILED", "BILLING.PLAN.CREATED", "BILLING.PLAN.UPDATED",
        "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED",
        "RISK.DISPUTE.CREATED", "INVOICING.INVOICE.PAID", "INVOICING.INVOICE.CANCELLED",
        "INVOICING.INVOICE.REFUNDED", "PAYMENT.PAYOUTSBATCH.SUCCESS", "PAYMENT.PAYOUTSBATCH.DENIED",
        "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "PAYMENT.PAYOUTS-ITEM.FAILED", "VAULT.PAYMENT-TOKEN.CREATED",
        "VAULT.PAYMENT-TOKEN.DELETED", "MERCHANT.ONBOARDING.COMPLETED", "MERCHANT.PARTNER-CONSENT.REVOKED",
    ]

    private let webhookID: String
    private let fetcher: SigningCertificateFetcher
    private let timestampTolerance: Int64
    private let transmissions: TransmissionLog

    public init(webhookID: String, fetcher: SigningCertificateFetcher, timestampTolerance: Int64 = 300) {
        self.webhookID = webhookID
        self.fetcher = fetcher
        self.timestampTolerance = timestampTolerance
        self.transmissions = TransmissionLog(window: max(timestampTolerance, 60))
    }

    public var fetchesKeys: Bool { true }

    /// Fetches the certificate at `PAYPAL-CERT-URL` (refused before any fetch when outside the
    /// allowed prefixes).
    public func fetchKey(for request: WebhookRequest, now: Date) async throws(WebhookRejection) -> FetchedKey? {
        try await fetcher.key(at: try request.headers.required(Header.certificateURL), now: now)
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Header.signature.canonicalName
        guard let signatureText = try request.headers.single(Header.signature) else {
            throw .missingSignature(header: name)
        }
        let id = try request.headers.required(Header.transmissionID)
        guard DeliveryID.isValid(id), !id.contains("|") else {
            throw .invalidHeader(Header.transmissionID.canonicalName, reason: DeliveryID.rule + ", without |")
        }
        let time = try request.headers.required(Header.transmissionTime)
        guard let signedAt = RFC3339.parse(time), !time.contains("|") else {
            throw .invalidHeader(Header.transmissionTime.canonicalName, reason: "must be an RFC 3339 time")
        }
        let algorithm = try request.headers.required(Header.algorithm)
        guard algorithm == "SHA256withRSA" else {
            throw .invalidHeader(Header.algorithm.canonicalName, reason: "must be SHA256withRSA")
        }
        guard let key = request.fetchedKey else {
            throw .certificateUnavailable(reason: "no certificate was fetched", retryAfter: 5)
        }
        guard let signature = Base64.decode(signatureText) else {
            throw .badSignature(header: name, reason: "is not base64")
        }
        let message = Self.signedString(transmissionID: id, time: time, webhookID: webhookID, body: request.body)
        guard try key.isValidPKCS1Signature(signature, for: SHA256.hash(data: message)) else {
            throw .badSignature(header: name, reason: "does not verify under the certificate at PAYPAL-CERT-URL")
        }
        try UnixTimestamp.checkFresh(signedAt, now: now, tolerance: timestampTolerance)
        guard transmissions.record(id, body: request.body, at: Int64(now.timeIntervalSince1970)) else {
            throw .badSignature(
                header: name,
                reason:
                    "was already received for transmission \(id) with another body (PayPal signs only a CRC-32 of it)"
            )
        }
        let eventType = try fields.eventType(at: Field.eventType)
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: try fields.deliveryID(at: Field.id),
            signedAt: signedAt,
            checks: ["certificate", "signature", "timestamp"],
            forwardedHeaders: request.headers.forwarded([
                Header.transmissionID, Header.transmissionTime, Header.signature, Header.certificateURL,
                Header.algorithm, Header.version,
            ])
        )
    }

    /// What PayPal signs: `{transmission id}|{time}|{webhook id}|{CRC-32 of the body, decimal}`.
    public static func signedString(transmissionID: String, time: String, webhookID: String, body: [UInt8]) -> [UInt8] {
        Array("\(transmissionID)|\(time)|\(webhookID)|\(crc32(body))".utf8)
    }

    /// The CRC-32 (IEEE 802.3, as zlib computes it) PayPal signs in place of the body.
    public static func crc32(_ bytes: [UInt8]) -> UInt32 { CRC32.checksum(bytes) }

    public var bodyFields: [JSONPointer] { [Field.id, Field.eventType] }

    /// The transmission and its time are signed; the body only through a CRC-32, so neither it nor
    /// the event id and type in it count as signed.
    public var signedParts: SignedParts { [.timestamp] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders(deliveryID: [Header.transmissionID]) }
}

/// The transmissions a PayPal source verified within the time window, with a digest of each body:
/// the same transmission again must carry the same body.
final class TransmissionLog: Sendable {
    /// The most transmissions remembered; beyond, the oldest are forgotten first.
    static let capacity = 100_000

    private struct State {
        var bodies: [String: (digest: [UInt8], at: Int64)] = [:]
        var order: [(id: String, at: Int64)] = []
        var start = 0
    }

    private let window: Int64
    private let state = Locked(State())

    init(window: Int64) {
        self.window = window
    }

    /// Records transmission `id` with `body`; `false` when it was seen within the window with
    /// another body.
    func record(_ id: String, body: [UInt8], at now: Int64) -> Bool {
        let digest = Array(SHA256.hash(data: body))
        return state.withLock { state in
            while state.start < state.order.count,
                state.order[state.start].at + window < now || state.order.count - state.start > Self.capacity
            {
                let old = state.order[state.start]
                if state.bodies[old.id]?.at == old.at { state.bodies[old.id] = nil }
                state.start += 1
            }
            if state.start > 1024, state.start * 2 > state.order.count {
                state.order.removeFirst(state.start)
                state.start = 0
            }
            if let seen = state.bodies[id] { return seen.digest == digest }
            state.bodies[id] = (digest, now)
            state.order.append((id, now))
            return true
        }
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it): the checksum PayPal signs in place of the body.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension PayPalScheme: WebhookSigner {
    /// PayPal's headers for `delivery`, signed with `delivery.signingKey` (PEM RSA) for the
    /// certificate at `delivery.certificateURL`.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        let pem = try delivery.requiredSigningKey(sender: "paypal")
        let certificateURL = try delivery.requiredCertificateURL(sender: "paypal")
        guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) else {
            throw SigningError("the signing key is not a PEM RSA private key")
        }
        let id = delivery.deliveryID(orNew: "")
        let time = RFC3339.format(unixSeconds: delivery.timestamp)
        let signed = Self.signedString(transmissionID: id, time: time, webhookID: webhookID, body: delivery.body)
        guard let signature = try? key.signature(for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5) else {
            throw SigningError("RSA signing failed")
        }
        return [
            ("content-type", "application/json"),
            ("user-agent", "PayPal/AUHD-214.0-58654542"),
            (Header.transmissionID.canonicalName, id),
            (Header.transmissionTime.canonicalName, time),
            (Header.signature.canonicalName, Base64.encode(signature.rawRepresentation)),
            (Header.certificateURL.canonicalName, certificateURL),
            (Header.algorithm.canonicalName, "SHA256withRSA"),
            (Header.version.canonicalName, "v2"),
        ]
    }
}
