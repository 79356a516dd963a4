import Foundation
import SenderCertificates
import SenderKit

/// Amazon SNS topics with an HTTP or HTTPS subscription whose endpoint is the relay.
public struct AmazonSNSSender: CertificateSenderTooling {
    public init() {}

    public var name: String { "aws-sns" }

    public var summary: String {
        "Amazon SNS HTTP(S) subscriptions (RSA over the message's fields; certificate fetched from SigningCertURL)"
    }

    /// The topics whose messages are accepted.
    public static let topicArns = Setting(
        "sources.<source>.topic_arns",
        "RELAY_<SOURCE>_TOPIC_ARNS",
        "aws-sns: the ARNs of the topics whose messages are accepted (required: SNS signs every account's messages with the same certificate)."
    )
    /// Whether the relay confirms subscriptions itself.
    public static let confirmSubscriptions = Setting(
        "sources.<source>.confirm_subscriptions",
        "RELAY_<SOURCE>_CONFIRM_SUBSCRIPTIONS",
        default: "false",
        kind: .boolean,
        "aws-sns: true: the relay confirms a verified SubscriptionConfirmation by visiting its SubscribeURL; false: it publishes it and logs the URL for an operator."
    )

    /// SNS's certificate hosts in every partition (`sns.<region>.amazonaws.com`, China's
    /// `.amazonaws.com.cn`), and the names on its certificates.
    public static let certificateURLs = [
        "https://sns.*.amazonaws.com/SimpleNotificationService-",
        "https://sns.*.amazonaws.com.cn/SimpleNotificationService-",
    ]
    public static let certificateSubjects = ["sns.amazonaws.com", "sns.amazonaws.com.cn"]

    public var usesSecrets: Bool { false }

    public var certificateSubject: String { Self.certificateSubjects[0] }

    public var certificatePrefix: String { "/SimpleNotificationService-" }

    /// `webhook-relay sign` adds `Timestamp`, `Signature`, `SignatureVersion` and `SigningCertURL`.
    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body:
                #"{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":"arn:aws:sns:us-east-1:123456789012:orders","Subject":"Order created","Message":"{\"order\":\"ord_1\",\"total\":\"12.50\"}"}"#,
            topic: "aws-sns.orders",
            settings: [Self.topicArns: "arn:aws:sns:us-east-1:123456789012:orders"]
        )
    }

    public var settings: [Setting] { [Self.topicArns, Self.confirmSubscriptions] + Setting.certificateSettings }

    public var defaults: SenderDefaults {
        SenderDefaults(
            cloudEventSource: "https://aws.amazon.com/sns",
            topicTemplate: "{source}.{event}",
            timestampTolerance: AmazonSNSScheme.defaultTolerance
        )
    }

    /// SNS needs no secret: the relay is configured with the topics it accepts.
    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        let arns = try source.list(Self.topicArns)
        guard !arns.isEmpty else {
            throw ConfigurationError(
                Self.topicArns.forSource(source.name),
                "is required: list the ARNs of the topics this source accepts"
            )
        }
        for arn in arns where !arn.hasPrefix("arn:") || arn.split(separator: ":").count != 6 {
            throw ConfigurationError(
                Self.topicArns.forSource(source.name),
                "'\(arn.prefix(100))' is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        }
        let fetcher = try source.signingCertificateFetcher(
            defaultURLs: Self.certificateURLs,
            subjects: Self.certificateSubjects
        )
        // SubscribeURL may point at the certificate hosts, any path.
        let hosts = fetcher.configuration.urls.texts.compactMap { prefix -> String? in
            guard let url = URLComponents(string: prefix), let host = url.host else { return nil }
            return "https://\(host)\(url.port.map { ":\($0)" } ?? "")/"
        }
        let confirmationHosts: CertificateURLPolicy
        do {
            confirmationHosts = try CertificateURLPolicy(prefixes: hosts)
        } catch {
            throw ConfigurationError(
                Setting.sourceCertificateURLs.forSource(source.name),
                "'\(error.prefix)' \(error.reason)"
            )
        }
        return AmazonSNSScheme(
            topicArns: Set(arns),
            fetcher: fetcher,
            confirmationHosts: confirmationHosts,
            confirmsSubscriptions: try source.boolean(Self.confirmSubscriptions),
            timestampTolerance: source.timestampTolerance
        )
    }
}
