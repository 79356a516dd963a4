import Foundation
import RelayTools

/// An Amazon SNS message as SNS writes it, signed with a test certificate's key.
public struct SNSTestMessage: Sendable {
    public var fields: [(String, String)]

    /// A notification (`subject` optional) or, with `subscribeURL`, a subscription confirmation.
    public init(
        topicArn: String,
        messageID: String,
        message: String,
        timestamp: String,
        subject: String? = nil,
        subscribeURL: String? = nil,
        certificateURL: String
    ) {
        var fields: [(String, String)] = [
            ("Type", subscribeURL == nil ? "Notification" : "SubscriptionConfirmation"), ("MessageId", messageID),
        ]
        if let subscribeURL {
            fields += [("Token", "2336412f37fb687f5d51e6e2425"), ("TopicArn", topicArn), ("Message", message)]
            fields += [("SubscribeURL", subscribeURL), ("Timestamp", timestamp)]
        } else {
            fields.append(("TopicArn", topicArn))
            if let subject { fields.append(("Subject", subject)) }
            fields += [("Message", message), ("Timestamp", timestamp)]
        }
        fields += [("SignatureVersion", "2"), ("SigningCertURL", certificateURL)]
        self.fields = fields
    }

    /// AWS's string to sign: `Key\nValue\n` for the type's fields, in their documented order.
    public var stringToSign: [UInt8] {
        let confirmation = fields.first?.1 != "Notification"
        let names =
            confirmation
            ? ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
            : ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        var text = ""
        for name in names {
            if let value = fields.first(where: { $0.0 == name })?.1 { text += "\(name)\n\(value)\n" }
        }
        return Array(text.utf8)
    }

    /// The message as SNS posts it, signed by `certificate` (SHA-1 for `SignatureVersion` 1).
    public func body(signedBy certificate: LocalSigningCertificate, version: Int = 2) throws -> [UInt8] {
        var fields = self.fields
        if let index = fields.firstIndex(where: { $0.0 == "SignatureVersion" }) { fields[index].1 = String(version) }
        let signature = try certificate.sign(stringToSign, sha1: version == 1)
        fields.insert(("Signature", signature), at: fields.count - 1)
        fields.append(("UnsubscribeURL", "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"))
        let members = fields.map { "  \(JSONString.quoted($0.0)) : \(JSONString.quoted($0.1))" }
        return Array("{\n\(members.joined(separator: ",\n"))\n}".utf8)
    }
}

/// JSON string literals for hand-built test bodies.
enum JSONString {
    static func quoted(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
