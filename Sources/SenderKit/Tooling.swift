import Foundation

/// What the tools need of a sender beyond verifying it: `webhook-relay dev` makes it a secret and
/// suggests a delivery. Kept apart from ``Sender``, so a sender the relay can verify but not imitate
/// (one that signs with a private key only it holds) is a plain ``Sender``.
public protocol SenderTooling: Sender {
    /// A new secret in the form this sender issues them, for `webhook-relay dev`.
    func generateSecret() -> String

    /// New credentials for `webhook-relay dev`: the secret the relay is configured with and, for a
    /// sender that signs with a private key (Discord, SendGrid), that key, which only `sign` uses. A
    /// sender implements this or ``generateSecret()``; each defaults to the other.
    func generateCredentials() -> DevCredentials

    /// A delivery to try the relay with, for `webhook-relay dev`.
    var example: SenderExample { get }
}

extension SenderTooling {
    public func generateSecret() -> String { generateCredentials().secret }

    public func generateCredentials() -> DevCredentials { DevCredentials(secret: generateSecret()) }
}

/// What `webhook-relay dev` needs of a sender that signs with a certificate it names in each request
/// (Amazon SNS, PayPal): dev issues a stand-in certificate from its own CA, serves it from a local
/// HTTPS host at ``certificatePath`` and points the source's `certificate_urls` at
/// ``certificatePrefix`` there; its try-it line signs with that certificate's key.
public protocol CertificateSenderTooling: Sender {
    /// The name the sender's certificates carry, e.g. `sns.amazonaws.com`.
    var certificateSubject: String { get }
    /// The path prefix the sender's certificate URLs start with, e.g. `/SimpleNotificationService-`.
    var certificatePrefix: String { get }
    /// A delivery to try the relay with; its settings include what the source requires
    /// (`topic_arns`, `webhook_id`).
    var example: SenderExample { get }
}

extension CertificateSenderTooling {
    /// Where dev serves the stand-in certificate: the prefix followed by `dev.pem`.
    public var certificatePath: String { certificatePrefix + "dev.pem" }
}

/// What `webhook-relay dev` configures a source with.
public struct DevCredentials: Sendable, Hashable {
    /// The value of the source's `secrets`: an HMAC secret, or the verification (public) key of a
    /// sender that signs with a private key.
    public var secret: String
    /// The private key that key verifies, for `webhook-relay sign --signing-key-file`; `nil` for a
    /// shared secret.
    public var signingKey: String?

    public init(secret: String, signingKey: String? = nil) {
        self.secret = secret
        self.signingKey = signingKey
    }
}

/// What `webhook-relay sign`, `dev` and the tests need of a scheme: signing a delivery as the sender
/// would. Kept apart from ``WebhookScheme`` for the same reason as ``SenderTooling``.
public protocol WebhookSigner: Sendable {
    /// The headers this sender would put on `delivery`, signed with the first active secret, in
    /// the order the sender sends them.
    func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)]

    /// The URL the sender signs as part of each delivery, if it signs one (the default target of
    /// `webhook-relay sign`).
    var signedURL: String? { get }

    /// `delivery`'s body as the sender would send it at `delivery.timestamp`: a sender that signs
    /// inside the body writes there what it signs (Linear's `webhookTimestamp`, Mailgun's signature
    /// object, Adyen's item signatures), so a sample body signed now is fresh and valid. The body
    /// unchanged by default.
    func stamped(_ delivery: OutgoingDelivery) -> [UInt8]
}

extension WebhookSigner {
    public var signedURL: String? { nil }

    public func stamped(_ delivery: OutgoingDelivery) -> [UInt8] { delivery.body }
}

/// A sample delivery: what `webhook-relay dev` suggests sending.
public struct SenderExample: Sendable, Hashable {
    /// For senders with the type in a header (`--event`); `nil` when it is in the body.
    public var eventType: String?
    public var body: String
    /// The topic it lands on with the default template of a source named after the sender.
    public var topic: String
    /// Settings (by per-source setting) a dev source needs beyond a secret, e.g. a signed URL;
    /// `{url}` in a value stands for the source's URL.
    public var settings: [Setting: String]

    public init(eventType: String?, body: String, topic: String, settings: [Setting: String] = [:]) {
        self.eventType = eventType
        self.body = body
        self.topic = topic
        self.settings = settings
    }
}

/// A delivery to sign, for tooling and tests.
public struct OutgoingDelivery: Sendable {
    public var body: [UInt8]
    /// For senders that carry the type in a header; body-typed senders take it from the body.
    public var eventType: String?
    /// For senders that carry the id in a header; `nil` makes a new one.
    public var deliveryID: String?
    /// The signed time (Unix seconds), for senders that sign one.
    public var timestamp: Int64
    /// The private key of a sender that signs with one (see ``DevCredentials/signingKey``); senders
    /// that share a secret sign with the source's first secret and ignore it.
    public var signingKey: String?
    /// For a sender that names its certificate in the request (Amazon SNS, PayPal): the URL of the
    /// certificate for ``signingKey``.
    public var certificateURL: String?

    public init(
        body: [UInt8],
        eventType: String? = nil,
        deliveryID: String? = nil,
        timestamp: Int64,
        signingKey: String? = nil,
        certificateURL: String? = nil
    ) {
        self.body = body
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.timestamp = timestamp
        self.signingKey = signingKey
        self.certificateURL = certificateURL
    }

    /// ``signingKey``, which a sender that signs with a private key needs.
    /// - Throws: ``SigningError`` saying where the key comes from, when there is none.
    public func requiredSigningKey(sender: String) throws(SigningError) -> String {
        guard let signingKey, !signingKey.isEmpty else {
            throw SigningError(
                "\(sender) signs with a private key the relay never holds: pass it with --signing-key-file "
                    + "(webhook-relay dev writes one for its sources)"
            )
        }
        return signingKey
    }

    /// ``certificateURL``, which a sender that names its certificate needs.
    /// - Throws: ``SigningError`` saying where it comes from, when there is none.
    public func requiredCertificateURL(sender: String) throws(SigningError) -> String {
        guard let certificateURL, !certificateURL.isEmpty else {
            throw SigningError(
                "\(sender) names the certificate it signs with: pass its URL with --certificate-url "
                    + "(webhook-relay dev serves one for its sources)"
            )
        }
        return certificateURL
    }

    /// The delivery id, or a new random one made of `prefix` and 24 hex digits.
    public func deliveryID(orNew prefix: String) -> String {
        deliveryID ?? prefix + RandomText.hex(12)
    }
}

/// Why a delivery cannot be signed (e.g. the event type is required but missing).
public struct SigningError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Random bytes for new secrets and ids, written the ways senders write them.
public enum RandomText {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255) }
    }

    /// `count` random bytes as lowercase hex.
    public static func hex(_ count: Int) -> String { Hex.encode(bytes(count)) }

    /// `length` characters of base64url without padding (Zoom's and Square's 22-character keys).
    public static func base64URL(length: Int) -> String {
        String(
            Base64.encode(bytes((length * 3 + 3) / 4)).prefix(length)
                .map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }
        )
    }
}
