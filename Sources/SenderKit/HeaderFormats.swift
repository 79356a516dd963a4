import Foundation
import HTTPTypes

/// The shape of a sender's delivery id: it becomes `ce_id`, a log field and a dedup key.
public enum DeliveryID {
    /// The longest id accepted.
    public static let maximumLength = 200
    /// Human text of the rule, for error messages.
    public static let rule = "must be 1 to 200 printable ASCII characters without spaces"

    /// Whether `id` is 1…200 printable ASCII characters (0x21–0x7E).
    public static func isValid(_ id: String) -> Bool {
        let utf8 = id.utf8
        return !utf8.isEmpty && utf8.count <= maximumLength && utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

/// Unix timestamps in seconds, as senders put them in headers.
public enum UnixTimestamp {
    /// Parses 1 to 12 ASCII digits; anything else (signs, spaces, fractions, exponents) is refused.
    public static func parse(_ text: String) -> Int64? {
        let utf8 = text.utf8
        guard (1...12).contains(utf8.count) else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// Event types as most senders spell them: `pull_request.opened`,
/// `payment_intent.succeeded`, `orders/create`, `app_mention`.
public enum EventName {
    /// The longest event type accepted (it becomes part of a topic name).
    public static let maximumLength = 120
    /// Human text of the rule, for error messages.
    public static let rule = "must be 1 to 120 characters of a-z, A-Z, 0-9, '.', '_', '-' and '/'"

    /// Whether `name` is 1…120 characters of letters, digits, `.`, `_`, `-` and `/`.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        return !utf8.isEmpty && utf8.count <= maximumLength
            && utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: "/"):
                    true
                default: false
                }
            }
    }

    /// The event type in topic-name characters: `/` becomes `.` (`orders/create` → `orders.create`).
    public static func topicName(_ name: String) -> String {
        name.replacingOccurrences(of: "/", with: ".")
    }

    /// A descriptor for a dotted event type: family before the first separator (`.` or `/`),
    /// action after it (empty without one), `{event}` the whole type in topic characters.
    public static func describe(
        _ eventType: String,
        cloudEventTypePrefix: String?,
        keyField: JSONPointer?,
        isKnown: Bool
    ) -> EventDescriptor {
        let topicName = topicName(eventType)
        let family: Substring
        let action: Substring
        if let split = topicName.firstIndex(of: ".") {
            family = topicName[..<split]
            action = topicName[topicName.index(after: split)...]
        } else {
            family = Substring(topicName)
            action = ""
        }
        return EventDescriptor(
            eventType: eventType,
            family: String(family),
            action: String(action),
            topicName: topicName,
            cloudEventType: cloudEventTypePrefix.map { "\($0).\(topicName)" } ?? topicName,
            keyField: keyField,
            isKnown: isKnown
        )
    }
}

extension HTTPFields {
    /// The one value of header `name`, or `nil` when it is absent.
    /// - Throws: ``WebhookRejection/invalidHeader(_:reason:)`` when it was sent more than once.
    public func single(_ name: HTTPField.Name) throws(WebhookRejection) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { throw .invalidHeader(name.canonicalName, reason: "sent more than once") }
            found = field.value
        }
        return found
    }

    /// The one value of header `name`.
    /// - Throws: ``WebhookRejection/missingHeader(_:)`` when it is absent.
    public func required(_ name: HTTPField.Name) throws(WebhookRejection) -> String {
        guard let value = try single(name) else { throw .missingHeader(name.canonicalName) }
        return value
    }

    /// The headers among `names` that are present, in that order, for forwarding to Kafka.
    public func forwarded(_ names: [HTTPField.Name]) -> [ForwardedHeader] {
        names.compactMap { name in self[name].map { ForwardedHeader(name.canonicalName, $0) } }
    }
}

extension UnixTimestamp {
    /// The signed time in header `name`, checked to lie within `tolerance` seconds of `now` (either
    /// way, inclusive).
    public static func fresh(
        _ text: String,
        header name: String,
        now: Date,
        tolerance: Int64
    ) throws(WebhookRejection) -> Int64 {
        guard let timestamp = parse(text) else {
            throw .invalidHeader(name, reason: "must be Unix seconds (digits only)")
        }
        try checkFresh(timestamp, now: now, tolerance: tolerance)
        return timestamp
    }

    /// Checks that `timestamp` (Unix seconds) lies within `tolerance` seconds of `now`, either way,
    /// inclusive.
    /// - Throws: ``WebhookRejection/staleTimestamp(age:tolerance:)``.
    public static func checkFresh(_ timestamp: Int64, now: Date, tolerance: Int64) throws(WebhookRejection) {
        let age = Int64(now.timeIntervalSince1970.rounded(.down)) - timestamp
        guard abs(age) <= tolerance else { throw .staleTimestamp(age: age, tolerance: tolerance) }
    }

    /// Checks that `milliseconds` (Unix milliseconds, as HubSpot and Linear send them) lies within
    /// `tolerance` seconds of `now`, to the millisecond; returns the time in whole seconds.
    /// - Throws: ``WebhookRejection/staleTimestamp(age:tolerance:)``, the age in seconds.
    public static func checkFresh(
        milliseconds: Int64,
        now: Date,
        tolerance: Int64
    ) throws(WebhookRejection) -> Int64 {
        let age = Int64((now.timeIntervalSince1970 * 1000).rounded(.down)) - milliseconds
        guard abs(age) <= tolerance * 1000 else { throw .staleTimestamp(age: age / 1000, tolerance: tolerance) }
        return milliseconds / 1000
    }
}

/// Headers that carry a list of signatures (one per active secret while the sender rotates).
///
/// Each entry may cost a pass over the whole body, so an unsigned request could otherwise buy
/// seconds of CPU with a long list: a list longer than ``maximumEntries`` is refused before any
/// signature is computed.
public enum SignatureList {
    /// The most entries a signature header may carry. Senders send one per active secret, two
    /// while rotating.
    public static let maximumEntries = 8

    /// The entries of `header` split at `separator`, empty ones included.
    /// - Throws: ``WebhookRejection/badSignature(header:reason:)`` naming the cap when there are more
    ///   than ``maximumEntries`` (not counting `uncounted` elements, such as Stripe's `t=`).
    public static func entries(
        _ header: String,
        separator: Character,
        name: String,
        uncounted: (Substring) -> Bool = { _ in false }
    ) throws(WebhookRejection) -> [Substring] {
        var entries: [Substring] = []
        var counted = 0
        for entry in header.split(separator: separator, omittingEmptySubsequences: false) {
            if !uncounted(entry) { counted += 1 }
            guard counted <= maximumEntries else {
                throw .badSignature(header: name, reason: "carries more than \(maximumEntries) signatures")
            }
            entries.append(entry)
        }
        return entries
    }
}
