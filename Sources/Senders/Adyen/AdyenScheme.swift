import Crypto
import Foundation
import HTTPTypes
import SenderKit

/// Adyen's standard webhooks: a JSON object whose `notificationItems` each carry a
/// `NotificationRequestItem` signed on its own, `additionalData.hmacSignature` being the base64
/// HMAC-SHA256, keyed with the hex-decoded HMAC key, of
/// `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`.
/// Every item must verify; each becomes a record of its own (its JSON as sent), with the id
/// `{pspReference}:{eventCode}:{success}` (Adyen may send the same code again with the other
/// outcome). The other fields of an item (`eventDate`, `reason`, `additionalData`…) are not signed.
/// Adyen requires the answer `[accepted]`.
public struct AdyenScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.adyen.<event code, lowercased>`.
    public static let cloudEventTypePrefix = "com.adyen"

    /// The array of items and the fields of one item.
    public enum Field {
        public static let items: JSONPointer = "/notificationItems"
        static let item = "/NotificationRequestItem"
        public static let pspReference = JSONPointer(item + "/pspReference")!
        public static let originalReference = JSONPointer(item + "/originalReference")!
        public static let merchantAccountCode = JSONPointer(item + "/merchantAccountCode")!
        public static let merchantReference = JSONPointer(item + "/merchantReference")!
        public static let value = JSONPointer(item + "/amount/value")!
        public static let currency = JSONPointer(item + "/amount/currency")!
        public static let eventCode = JSONPointer(item + "/eventCode")!
        public static let success = JSONPointer(item + "/success")!
        public static let hmacSignature = JSONPointer(item + "/additionalData/hmacSignature")!

        /// The signed fields, in the order they are joined.
        public static let signed = [
            pspReference, originalReference, merchantAccountCode, merchantReference, value, currency, eventCode,
            success,
        ]
    }

    /// The Kafka key: the merchant's reference (one order's payment events stay in order).
    public static let keyField = JSONPointer(Field.item + "/merchantReference")!

    /// Event codes merchants commonly receive, lowercased; others are published just as well (signed).
    public static let catalogue: Set<String> = [
        "authorisation", "authorisation_adjustment", "cancellation", "cancel_or_refund", "capture",
        "capture_failed", "chargeback", "chargeback_reversed", "second_chargeback", "notification_of_chargeback",
        "prearbitration_won", "prearbitration_lost", "refund", "refund_failed", "refunded_reversed",
        "refund_with_data", "report_available", "request_for_information", "order_opened", "order_closed",
        "offer_closed", "pending", "recurring_contract", "technical_cancel", "expire", "manual_review_accept",
        "manual_review_reject", "payout_thirdparty", "payout_decline", "payout_expire", "autorescue",
        "cancel_autorescue",
    ]

    /// The answer Adyen requires for every accepted delivery.
    public static let accepted = WebhookReply.text("[accepted]")

    private let keys: [HMACKey]

    /// - Parameter keys: the hex-decoded HMAC keys.
    public init(keys: [[UInt8]]) {
        self.keys = keys.map { HMACKey(bytes: $0) }
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = "additionalData.hmacSignature"
        let items = try fields.elements()
        var events: [BatchEvent] = []
        for element in items {
            let item = Array(element)
            let itemFields = BodyFields(body: item, capturing: Field.signed + [Field.hmacSignature])
            let values = try itemFields.values()
            guard let signature = values.last ?? nil, !signature.isEmpty else { throw .missingSignature(header: name) }
            guard let code = Base64.decode(signature), code.count == SHA256.byteCount else {
                throw .badSignature(header: name, reason: "is not the base64 of a 32-byte HMAC-SHA256")
            }
            let signed = values.dropLast().map { $0 ?? "" }
            let message = Array(signed.joined(separator: ":").utf8)
            let matched = message.withUnsafeBytes { HMACKey.anyMatches([code], message: $0, keys: keys) }
            guard matched else {
                throw .badSignature(
                    header: name,
                    reason: "does not match under any active HMAC key (item \(events.count + 1))"
                )
            }
            let eventCode = signed[6].lowercased()
            guard EventName.isValid(eventCode) else { throw .invalidField(Field.eventCode, reason: EventName.rule) }
            let id = "\(signed[0]):\(signed[6]):\(signed[7])"
            guard !signed[0].isEmpty, DeliveryID.isValid(id) else {
                throw .invalidField(Field.pspReference, reason: DeliveryID.rule)
            }
            events.append(BatchEvent(eventType: eventCode, deliveryID: id, body: item))
        }
        guard let first = events.first else { throw .malformedBody(reason: "has no notificationItems") }
        return VerifiedWebhook(
            eventType: first.eventType,
            deliveryID: first.deliveryID,
            signedAt: nil,
            checks: ["signature"],
            forwardedHeaders: [],
            events: events
        )
    }

    /// Each item's id and event code; not the items' other fields, nor the time.
    public var signedParts: SignedParts { [.deliveryID, .eventType] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders() }

    public var successReply: WebhookReply? { Self.accepted }

    public var batchArray: JSONPointer? { Field.items }

    /// Each item of the body (from a file) with its `hmacSignature` computed, as Adyen signs it.
    public func stamped(_ delivery: OutgoingDelivery) -> [UInt8] {
        guard let key = keys.first,
            let items = try? BodyFields(body: delivery.body, capturing: [], elementsAt: Field.items).elements()
        else { return delivery.body }
        var body: [UInt8] = []
        var copied = delivery.body.startIndex
        for element in items {
            let fields = BodyFields(body: Array(element), capturing: Field.signed + [Field.hmacSignature])
            guard let values = try? fields.values(), let old = values.last ?? nil else { continue }
            let message = values.dropLast().map { $0 ?? "" }.joined(separator: ":")
            let signature = Base64.encode(key.code(for: Array(message.utf8)))
            // The placeholder (or old signature) is replaced where it stands in the item.
            let quoted = Array("\"\(old)\"".utf8)
            guard let range = element.firstRange(of: quoted) else { continue }
            body += delivery.body[copied..<range.lowerBound] + Array("\"\(signature)\"".utf8)
            copied = range.upperBound
        }
        return body + delivery.body[copied...]
    }

    /// Adyen signs inside the body (``stamped(_:)``); its headers carry no signature.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard !keys.isEmpty else { throw SigningError("no HMAC key is configured") }
        return [("content-type", "application/json"), ("user-agent", "Adyen HttpClient 1.0")]
    }
}
