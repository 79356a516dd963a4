import Crypto
import Foundation
import HTTPTypes
import Logging
import RelayPrimitives
import SenderCertificates
import SenderKit
import _CryptoExtras

/// Amazon SNS HTTP(S) subscriptions: the body (sent as `text/plain`) is a JSON message whose
/// `Signature` is the base64 RSA PKCS #1 v1.5 signature (SHA-1 for `SignatureVersion` 1, SHA-256
/// for 2) of `Key\nValue\n` for each of its type's fields, in order: `Message`, `MessageId`,
/// `Subject` (when present), `Timestamp`, `TopicArn`, `Type` for a notification; `Message`,
/// `MessageId`, `SubscribeURL`, `Timestamp`, `Token`, `TopicArn`, `Type` for a (un)subscribe
/// confirmation. The key is the certificate at `SigningCertURL`, fetched under the source's
/// allowed prefixes and checked (``SigningCertificateFetcher``). Only topics in `topic_arns` are
/// accepted: SNS signs every account's messages with the same key.
public struct AmazonSNSScheme: WebhookScheme {
    /// The message's fields.
    public enum Field {
        public static let type: JSONPointer = "/Type"
        public static let messageID: JSONPointer = "/MessageId"
        public static let topicArn: JSONPointer = "/TopicArn"
        public static let subject: JSONPointer = "/Subject"
        public static let message: JSONPointer = "/Message"
        public static let timestamp: JSONPointer = "/Timestamp"
        public static let subscribeURL: JSONPointer = "/SubscribeURL"
        public static let token: JSONPointer = "/Token"
        public static let signatureVersion: JSONPointer = "/SignatureVersion"
        public static let signature: JSONPointer = "/Signature"
        public static let signingCertURL: JSONPointer = "/SigningCertURL"
    }

    /// The message types, as `Type` names them.
    public enum MessageType: String, Sendable, CaseIterable {
        case notification = "Notification"
        case subscriptionConfirmation = "SubscriptionConfirmation"
        case unsubscribeConfirmation = "UnsubscribeConfirmation"

        /// The signed fields, in the order the string to sign joins them.
        var signedFields: [(name: String, pointer: JSONPointer, optional: Bool)] {
            switch self {
            case .notification:
                [
                    ("Message", Field.message, false), ("MessageId", Field.messageID, false),
                    ("Subject", Field.subject, true), ("Timestamp", Field.timestamp, false),
                    ("TopicArn", Field.topicArn, false), ("Type", Field.type, false),
                ]
            case .subscriptionConfirmation, .unsubscribeConfirmation:
                [
                    ("Message", Field.message, false), ("MessageId", Field.messageID, false),
                    ("SubscribeURL", Field.subscribeURL, false), ("Timestamp", Field.timestamp, false),
                    ("Token", Field.token, false), ("TopicArn", Field.topicArn, false), ("Type", Field.type, false),
                ]
            }
        }
    }

    /// SNS keeps retrying a delivery with its first signature for as long as its delivery policy
    /// says (an hour is a generous default policy): the signed `Timestamp` may be that old.
    public static let defaultTolerance: Int64 = 3600

    /// The answer to a subscription confirmed by the relay.
    public static let confirmed = WebhookReply.text("subscription confirmed")

    private let topicArns: Set<String>
    private let fetcher: SigningCertificateFetcher
    private let confirmationHosts: CertificateURLPolicy
    private let confirmsSubscriptions: Bool
    private let timestampTolerance: Int64
    private let logger = Logger(label: "webhook-relay.aws-sns")

    /// - Parameters:
    ///   - topicArns: the topics whose messages are accepted.
    ///   - confirmationHosts: where `SubscribeURL` may point (the certificate hosts, any path).
    ///   - confirmsSubscriptions: whether the relay visits `SubscribeURL` itself; otherwise the
    ///     confirmation is published and the URL logged for an operator.
    public init(
        topicArns: Set<String>,
        fetcher: SigningCertificateFetcher,
        confirmationHosts: CertificateURLPolicy,
        confirmsSubscriptions: Bool,
        timestampTolerance: Int64 = AmazonSNSScheme.defaultTolerance
    ) {
        self.topicArns = topicArns
        self.fetcher = fetcher
        self.confirmationHosts = confirmationHosts
        self.confirmsSubscriptions = confirmsSubscriptions
        self.timestampTolerance = timestampTolerance
    }

    public var fetchesKeys: Bool { true }

    /// Checks the topic (an unlisted one is refused before anything is fetched), fetches the
    /// certificate and, for a subscription the relay confirms, verifies the message and visits its
    /// `SubscribeURL`.
    public func fetchKey(for request: WebhookRequest, now: Date) async throws(WebhookRejection) -> FetchedKey? {
        let fields = BodyFields(body: request.body, capturing: bodyFields)
        try checkTopic(fields)
        let key = try await fetcher.key(at: try fields.required(Field.signingCertURL), now: now)
        if confirmsSubscriptions, try fields.value(at: Field.type) == MessageType.subscriptionConfirmation.rawValue {
            let type = try checkSignature(fields, key: key)
            try UnixTimestamp.checkFresh(try signedAt(fields), now: now, tolerance: timestampTolerance)
            let url = try fields.required(Field.subscribeURL)
            let (host, _) = try confirmationHosts.check(url, allowingQuery: true)
            guard url.contains("Action=ConfirmSubscription") else {
                throw .invalidField(Field.subscribeURL, reason: "is not a ConfirmSubscription URL")
            }
            do {
                _ = try await fetcher.get(url, host: host)
            } catch {
                // SNS sends the confirmation again when it is not answered 2xx.
                throw .certificateUnavailable(reason: "SubscribeURL could not be visited: \(error)", retryAfter: 30)
            }
            logger.notice(
                "Confirmed an SNS subscription",
                metadata: ["topic_arn": "\((try? fields.required(Field.topicArn)) ?? "")", "type": "\(type.rawValue)"]
            )
        }
        return key
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        // SNS labels its JSON text/plain, whose fields the pipeline does not read: read them here.
        let fields = BodyFields(body: request.body, capturing: bodyFields)
        try checkTopic(fields)
        guard let key = request.fetchedKey else {
            throw .certificateUnavailable(reason: "no certificate was fetched", retryAfter: 5)
        }
        let type = try checkSignature(fields, key: key)
        let signedAt = try signedAt(fields)
        try UnixTimestamp.checkFresh(signedAt, now: now, tolerance: timestampTolerance)
        let topicArn = try fields.required(Field.topicArn)
        var reply: WebhookReply?
        var eventType = type.rawValue
        switch type {
        case .notification:
            eventType = Self.topicName(topicArn)
            guard EventName.isValid(eventType) else { throw .invalidField(Field.topicArn, reason: EventName.rule) }
        case .subscriptionConfirmation where confirmsSubscriptions:
            reply = Self.confirmed
        case .subscriptionConfirmation:
            logger.warning(
                "An SNS subscription waits for confirmation: it is published, not confirmed (confirm_subscriptions is false); visit SubscribeURL to confirm it",
                metadata: [
                    "topic_arn": "\(topicArn)",
                    "subscribe_url": "\((try? fields.required(Field.subscribeURL)) ?? "")",
                ]
            )
        case .unsubscribeConfirmation:
            break
        }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: try fields.deliveryID(at: Field.messageID),
            signedAt: signedAt,
            checks: ["certificate", "signature", "timestamp"],
            forwardedHeaders: request.headers.forwarded(Self.forwarded),
            reply: reply
        )
    }

    /// The headers SNS adds; none is signed.
    static let forwarded = [
        HTTPField.Name("x-amz-sns-message-type")!, HTTPField.Name("x-amz-sns-message-id")!,
        HTTPField.Name("x-amz-sns-topic-arn")!, HTTPField.Name("x-amz-sns-subscription-arn")!,
    ]

    /// The topic's name: the ARN's last part (`arn:aws:sns:us-east-1:123456789012:orders` → `orders`).
    static func topicName(_ arn: String) -> String {
        String(arn.split(separator: ":", omittingEmptySubsequences: false).last ?? "")
    }

    private func checkTopic(_ fields: BodyFields) throws(WebhookRejection) {
        let arn = try fields.required(Field.topicArn)
        guard topicArns.contains(arn) else {
            throw .invalidField(Field.topicArn, reason: "is not one of the source's topic_arns")
        }
    }

    private func signedAt(_ fields: BodyFields) throws(WebhookRejection) -> Int64 {
        guard let time = RFC3339.parse(try fields.required(Field.timestamp)) else {
            throw .invalidField(Field.timestamp, reason: "must be an ISO 8601 time")
        }
        return time
    }

    /// Checks `Signature` over the message's string to sign under `key`; returns the message type.
    private func checkSignature(_ fields: BodyFields, key: FetchedKey) throws(WebhookRejection) -> MessageType {
        let name = "Signature"
        guard let type = MessageType(rawValue: try fields.required(Field.type)) else {
            throw .invalidField(
                Field.type,
                reason: "is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
            )
        }
        guard let signatureText = try fields.value(at: Field.signature) else { throw .missingSignature(header: name) }
        guard let signature = Base64.decode(signatureText) else {
            throw .badSignature(header: name, reason: "is not base64")
        }
        let message = try Self.stringToSign(fields, type: type)
        let valid: Bool
        switch try fields.value(at: Field.signatureVersion) {
        case "1": valid = try key.isValidPKCS1Signature(signature, for: Insecure.SHA1.hash(data: message))
        case "2": valid = try key.isValidPKCS1Signature(signature, for: SHA256.hash(data: message))
        default:
            throw .invalidField(Field.signatureVersion, reason: "must be 1 (SHA1withRSA) or 2 (SHA256withRSA)")
        }
        guard valid else {
            throw .badSignature(header: name, reason: "does not verify under the certificate at SigningCertURL")
        }
        return type
    }

    /// `Key\nValue\n` for each signed field of `type` that is present, as AWS documents it.
    static func stringToSign(_ fields: BodyFields, type: MessageType) throws(WebhookRejection) -> [UInt8] {
        var text = ""
        for (name, pointer, optional) in type.signedFields {
            guard let value = try fields.value(at: pointer) else {
                if optional { continue }
                throw .invalidField(pointer, reason: "is missing from the message")
            }
            text += "\(name)\n\(value)\n"
        }
        return Array(text.utf8)
    }

    public var bodyFields: [JSONPointer] {
        [
            Field.type, Field.messageID, Field.topicArn, Field.subject, Field.message, Field.timestamp,
            Field.subscribeURL, Field.token, Field.signatureVersion, Field.signature, Field.signingCertURL,
        ]
    }

    /// SNS posts JSON labelled `text/plain; charset=UTF-8`.
    public var bodyKinds: BodyKinds { [.jsonObject, .text] }

    /// The message's id, type, topic and time are signed; the body as a whole is not
    /// (`MessageAttributes`, `UnsubscribeURL` and the signature fields are outside the signature).
    public var signedParts: SignedParts { [.deliveryID, .eventType, .timestamp] }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(deliveryID: [Self.forwarded[1]], eventType: [Self.forwarded[0]])
    }

    public func describe(eventType: String) -> EventDescriptor {
        EventName.describe(
            eventType,
            cloudEventTypePrefix: "com.amazonaws.sns",
            keyField: nil,
            isKnown: true
        )
    }

    public var knownEventTypes: [String] {
        topicArns.map(Self.topicName).filter(EventName.isValid).sorted()
            + [MessageType.subscriptionConfirmation.rawValue, MessageType.unsubscribeConfirmation.rawValue]
    }
}

extension AmazonSNSScheme: WebhookSigner {
    /// The message in `delivery.body` (its `Type`, `MessageId`, `TopicArn`, `Subject`, `Message`;
    /// a confirmation's `SubscribeURL` and `Token`) as SNS posts it at `delivery.timestamp`: with
    /// `Timestamp`, `SignatureVersion` 2 and the `Signature` of `delivery.signingKey` (PEM RSA), the
    /// certificate at `delivery.certificateURL`. The body unchanged without them.
    public func stamped(_ delivery: OutgoingDelivery) -> [UInt8] {
        guard let pem = delivery.signingKey, let certificateURL = delivery.certificateURL,
            let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem)
        else { return delivery.body }
        let fields = BodyFields(body: delivery.body, capturing: bodyFields)
        guard let typeText = try? fields.value(at: Field.type), let type = MessageType(rawValue: typeText) else {
            return delivery.body
        }
        var values: [(name: String, value: String)] = []
        for (name, pointer, _) in type.signedFields {
            if name == "Timestamp" {
                let millis = RFC3339.format(unixMilliseconds: delivery.timestamp * 1000)
                values.append((name, millis))
            } else if name == "MessageId" {
                values.append((name, (try? fields.value(at: pointer)) ?? UUID().uuidString.lowercased()))
            } else if let value = try? fields.value(at: pointer) {
                values.append((name, value))
            }
        }
        let message = values.map { "\($0.name)\n\($0.value)\n" }.joined()
        guard
            let signature = try? key.signature(for: SHA256.hash(data: Array(message.utf8)), padding: .insecurePKCS1v1_5)
        else { return delivery.body }
        let members =
            values + [
                ("SignatureVersion", "2"), ("Signature", Base64.encode(signature.rawRepresentation)),
                ("SigningCertURL", certificateURL),
            ]
        var output = Array("{\n".utf8)
        for (index, member) in members.enumerated() {
            output += Array("  ".utf8)
            JSONText.appendString(member.name, to: &output)
            output += Array(" : ".utf8)
            JSONText.appendString(member.value, to: &output)
            output += Array((index == members.count - 1 ? "\n" : ",\n").utf8)
        }
        return output + Array("}".utf8)
    }

    /// SNS's headers for a message ``stamped(_:)`` signed; the signature is in the body.
    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        _ = try delivery.requiredSigningKey(sender: "aws-sns")
        _ = try delivery.requiredCertificateURL(sender: "aws-sns")
        let fields = BodyFields(body: delivery.body, capturing: bodyFields)
        let value = { (pointer: JSONPointer) in (try? fields.value(at: pointer)) ?? "" }
        return [
            ("content-type", "text/plain; charset=UTF-8"),
            ("user-agent", "Amazon Simple Notification Service Agent"),
            ("x-amz-sns-message-type", value(Field.type)),
            ("x-amz-sns-message-id", value(Field.messageID)),
            ("x-amz-sns-topic-arn", value(Field.topicArn)),
        ]
    }
}
