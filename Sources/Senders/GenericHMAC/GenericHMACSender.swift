import HTTPTypes
import SenderKit

/// Any sender that signs with one HMAC header: its header, algorithm, encoding, prefix, optional
/// timestamp header and where the event type and delivery id are, all configured per source.
public struct GenericHMACSender: SenderTooling {
    public init() {}

    public var name: String { "generic-hmac" }

    public var summary: String { "Generic HMAC (one configurable signature header)" }

    public static let signatureHeader = Setting(
        "sources.<source>.signature_header",
        "RELAY_<SOURCE>_SIGNATURE_HEADER",
        default: "X-Signature",
        "generic-hmac: the header holding the signature."
    )
    public static let algorithm = Setting(
        "sources.<source>.algorithm",
        "RELAY_<SOURCE>_ALGORITHM",
        default: "sha256",
        "generic-hmac: sha1, sha256 or sha512."
    )
    public static let encoding = Setting(
        "sources.<source>.encoding",
        "RELAY_<SOURCE>_ENCODING",
        default: "hex",
        "generic-hmac: hex (either case) or base64 (standard, padded)."
    )
    public static let prefix = Setting(
        "sources.<source>.prefix",
        "RELAY_<SOURCE>_PREFIX",
        "generic-hmac: text before the signature, matched exactly, e.g. sha256= (default: none)."
    )
    public static let timestampHeader = Setting(
        "sources.<source>.timestamp_header",
        "RELAY_<SOURCE>_TIMESTAMP_HEADER",
        "generic-hmac: a header with the Unix time; then {timestamp}.{body} is signed (default: none, the body is)."
    )
    public static let eventType = Setting(
        "sources.<source>.event_type",
        "RELAY_<SOURCE>_EVENT_TYPE",
        default: "/type",
        "generic-hmac: where the event type is: a JSON pointer into the body, or a header name."
    )
    public static let deliveryID = Setting(
        "sources.<source>.delivery_id",
        "RELAY_<SOURCE>_DELIVERY_ID",
        default: "/id",
        "generic-hmac: where the delivery id (dedup key, ce_id) is: a JSON pointer, or a header name."
    )

    public static let signedString = Setting(
        "sources.<source>.signed_string",
        "RELAY_<SOURCE>_SIGNED_STRING",
        "generic-hmac: what is signed, from {id}, {timestamp}, {method}, {url} (public_url + query) and {body} "
            + "with literal text between, e.g. v0:{timestamp}:{body} or {url}{body} "
            + "(default: {body}, or {timestamp}.{body} with timestamp_header)."
    )

    public var settings: [Setting] {
        [
            Self.signatureHeader, Self.algorithm, Self.encoding, Self.prefix, Self.timestampHeader, Self.signedString,
            Self.eventType, Self.deliveryID,
        ]
    }

    public var defaults: SenderDefaults {
        SenderDefaults(cloudEventSource: "urn:generic-hmac", topicTemplate: "{source}.{event}")
    }

    public func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme {
        func header(_ setting: Setting, _ text: String) throws(ConfigurationError) -> HTTPField.Name {
            guard let name = HTTPField.Name(text) else {
                throw ConfigurationError(setting.forSource(source.name), "'\(text.prefix(100))' is not a header name")
            }
            return name
        }
        func field(_ setting: Setting) throws(ConfigurationError) -> GenericHMACScheme.Field {
            let text = try source.text(setting) ?? setting.defaultValue ?? ""
            guard let field = GenericHMACScheme.Field(text) else {
                throw ConfigurationError(
                    setting.forSource(source.name),
                    "'\(text.prefix(100))' is neither a JSON pointer (/id) nor a header name"
                )
            }
            return field
        }
        let signature = try header(Self.signatureHeader, try source.text(Self.signatureHeader) ?? "X-Signature")
        var timestamp: HTTPField.Name?
        if let text = try source.text(Self.timestampHeader) { timestamp = try header(Self.timestampHeader, text) }
        var signedString: GenericHMACScheme.SignedString?
        let stringSetting = Self.signedString.forSource(source.name)
        if let template = try source.text(Self.signedString) {
            switch GenericHMACScheme.SignedString.parse(template) {
            case .failure(let error): throw ConfigurationError(stringSetting, error.description)
            case .success(let parsed): signedString = parsed
            }
        }
        let deliveryID = try field(Self.deliveryID)
        if let signedString {
            if signedString.contains(.timestamp) != (timestamp != nil) {
                throw ConfigurationError(
                    stringSetting,
                    timestamp == nil
                        ? "uses {timestamp}: set timestamp_header to the header that carries it"
                        : "must contain {timestamp}: timestamp_header is set, and an unsigned time proves nothing"
                )
            }
            if signedString.contains(.url), source.publicURL == nil {
                throw ConfigurationError(stringSetting, "uses {url}: set public_url to the URL the sender calls")
            }
            if signedString.contains(.id), case .body = deliveryID {
                throw ConfigurationError(
                    stringSetting,
                    "uses {id}, which is for a delivery id read from a header (a body field is signed with {body})"
                )
            }
        }
        let options = GenericHMACScheme.Options(
            signatureHeader: signature,
            algorithm: try source.choice(Self.algorithm, HMACAlgorithm.self),
            encoding: try source.choice(Self.encoding, GenericHMACScheme.Encoding.self),
            prefix: try source.text(Self.prefix) ?? "",
            timestampHeader: timestamp,
            timestampTolerance: source.timestampTolerance,
            eventType: try field(Self.eventType),
            deliveryID: deliveryID,
            signedString: signedString,
            url: source.publicURL
        )
        return GenericHMACScheme(secrets: source.secrets, options: options)
    }

    public func generateSecret() -> String {
        RandomText.hex(24)
    }

    public var example: SenderExample {
        SenderExample(
            eventType: nil,
            body: #"{"type":"order.shipped","id":"dlv_demo_001","order":"ord_1001","carrier":"DHL"}"#,
            topic: "generic-hmac.order.shipped"
        )
    }
}
