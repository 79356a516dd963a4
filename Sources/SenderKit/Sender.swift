/// A webhook sender the relay can verify (GitHub, Stripe, Slack…): a plug-in that the core never
/// names. It declares its settings and defaults, checks them at start and builds the
/// ``WebhookScheme`` each of its sources verifies with.
///
/// A source is `sources.NAME` with `scheme:` naming a sender's ``name``; several sources may share
/// one sender (two GitHub organisations with different secrets).
public protocol Sender: Sendable {
    /// The value of a source's `scheme:` setting, e.g. `github`.
    var name: String { get }

    /// One line for the configuration reference and `--help`, e.g. "GitHub webhooks (X-Hub-Signature-256)".
    var summary: String { get }

    /// Settings this sender adds to a source (keys `sources.<source>.…`), in reference order.
    var settings: [Setting] { get }

    /// The defaults of the common per-source settings for this sender's sources.
    var defaults: SenderDefaults { get }

    /// Builds the scheme of one source, reading this sender's settings through `source`.
    /// - Throws: ``ConfigurationError`` naming the first setting (or secret) that is wrong, e.g. a
    ///   Standard Webhooks secret that is not valid base64.
    func makeScheme(for source: inout some SourceSettings) throws(ConfigurationError) -> any WebhookScheme

    /// Why `eventType` cannot be one of this sender's event types (for topic overrides), or `nil`.
    /// By default the rule of ``EventName``, which most senders' event types follow.
    func eventTypeProblem(_ eventType: String) -> String?

    /// Whether a source of this sender needs `secrets` (a shared secret or a public key). `false`
    /// for senders whose requests name the certificate that signed them (Amazon SNS, PayPal): a
    /// secret set for one of their sources stops the start. `true` by default.
    var usesSecrets: Bool { get }
}

extension Sender {
    public var settings: [Setting] { [] }

    public var usesSecrets: Bool { true }

    public func eventTypeProblem(_ eventType: String) -> String? {
        EventName.isValid(eventType) ? nil : EventName.rule
    }
}

/// Defaults of the per-source settings every sender has.
public struct SenderDefaults: Sendable, Hashable {
    /// The CloudEvents `source` attribute, e.g. `https://github.com`.
    public var cloudEventSource: String
    /// The topic template, e.g. `{source}.{event}`.
    public var topicTemplate: String
    /// Seconds a signed time may differ from now when `timestamp_tolerance` is not set: what the
    /// sender's own library allows (Paddle's 5, Linear's 60), 300 for most.
    public var timestampTolerance: Int64

    public init(cloudEventSource: String, topicTemplate: String, timestampTolerance: Int64 = 300) {
        self.cloudEventSource = cloudEventSource
        self.topicTemplate = topicTemplate
        self.timestampTolerance = timestampTolerance
    }
}

/// One source's settings as a sender reads them: the values of per-source settings (passed with
/// `<source>` in their key; the reader fills in the source's name), and what the core has read.
public protocol SourceSettings {
    /// The source's name, e.g. `github-org-two`.
    var name: String { get }
    /// The active secrets; a signature under any of them passes.
    var secrets: [String] { get }
    /// The setting the secrets came from, for error messages about one of them.
    var secretsSetting: Setting { get }
    /// Seconds a signed timestamp may differ from now, in either direction.
    var timestampTolerance: Int64 { get }
    /// The source's `public_url`: the URL the sender calls, for senders that sign it (a scheme that
    /// needs one refuses to start without it).
    var publicURL: String? { get }

    /// The raw text of a per-source setting, or `nil` when it is not set.
    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String?
    /// `true` or `false` (``Setting/Kind/boolean``), the setting's default when not set.
    mutating func boolean(_ setting: Setting) throws(ConfigurationError) -> Bool
    /// A list: a YAML sequence, or comma-separated text (the environment's form); empty when not set.
    mutating func list(_ setting: Setting) throws(ConfigurationError) -> [String]
    /// A whole number within the setting's range (``Setting/Kind/integer(_:)``), its default when not set.
    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int
    /// One of a closed set of words, the setting's default when not set.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: Setting,
        _ type: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String
}

extension SourceSettings {
    /// The source's `public_url`, for a sender that signs the URL it calls.
    /// - Parameter what: what the URL is called in the sender's dashboard, e.g. "the app's target URL".
    /// - Throws: ``ConfigurationError`` naming `public_url` when it is not set.
    public func requiredPublicURL(sender: String, what: String) throws(ConfigurationError) -> String {
        guard let publicURL else {
            throw ConfigurationError(
                .sourcePublicURL.forSource(name),
                "is required for \(sender): it signs the URL it calls (set it to \(what))"
            )
        }
        return publicURL
    }
}

/// The senders a relay knows, found by name.
public struct SenderRegistry: Sendable {
    public let senders: [any Sender]

    public init(_ senders: [any Sender]) {
        self.senders = senders
    }

    /// The sender whose ``Sender/name`` is `name`.
    public func sender(named name: String) -> (any Sender)? {
        senders.first { $0.name == name }
    }

    /// Every sender's name, in registration order, for error messages.
    public var names: [String] { senders.map(\.name) }
}
