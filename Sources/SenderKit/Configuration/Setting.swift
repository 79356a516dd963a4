import Foundation

/// One configuration setting: its YAML key, its environment variable, its default and what it means.
///
/// The relay's settings and each sender's are values of this type: the loader reads through them,
/// and `webhook-relay config reference` prints them. Per-source settings have `<source>` in their key
/// and `<SOURCE>` in their variable.
public struct Setting: Sendable, Hashable {
    /// Dotted YAML path; per-source settings contain `<source>`.
    public let key: String
    /// Environment variable overriding the key; per-source settings contain `<SOURCE>`.
    public let environment: String
    /// The default, written as it would be in the file; `nil` when the setting is required or optional.
    public let defaultValue: String?
    /// One line saying what it does.
    public let summary: String
    /// Secret values are never logged or echoed.
    public let isSecret: Bool
    /// What its value is and the values allowed: the loader parses by it, the reference prints it.
    public let kind: Kind

    /// The form of a setting's value, with its bounds.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// Free text: a host, a path, a template, a URL.
        case text
        /// A whole number within the range.
        case integer(ClosedRange<Int>)
        /// A size in bytes (`512KiB`, `5MiB`, `1GiB`, or a number) within the range.
        case byteSize(ClosedRange<Int>)
        /// A duration (`500ms`, `2s`, `5m`, `24h`) within the range.
        case duration(ClosedRange<Duration>)
        /// `true` or `false`.
        case boolean

        public var description: String {
            switch self {
            case .text: "text"
            case .integer(let range): "a whole number, \(range.lowerBound) to \(range.upperBound)"
            case .byteSize(let range): "a size, \(range.lowerBound) to \(range.upperBound) bytes"
            case .duration(let range):
                "a duration, \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound))"
            case .boolean: "true or false"
            }
        }

        /// `500ms`, `25s`, `90d`: the largest whole unit.
        private static func text(_ duration: Duration) -> String {
            let milliseconds =
                duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] as [(String, Int64)]
            where milliseconds >= size && milliseconds % size == 0 {
                return "\(milliseconds / size)\(unit)"
            }
            return "\(milliseconds)ms"
        }
    }

    public init(
        _ key: String,
        _ environment: String,
        default defaultValue: String? = nil,
        kind: Kind = .text,
        secret: Bool = false,
        _ summary: String
    ) {
        self.key = key
        self.environment = environment
        self.defaultValue = defaultValue
        self.summary = summary
        self.isSecret = secret
        self.kind = kind
    }

    /// This per-source setting for one source: `github` → `RELAY_GITHUB_…`, `org-two` → `RELAY_ORG_TWO_…`.
    public func forSource(_ name: String) -> Setting {
        let upper = name.uppercased().replacingOccurrences(of: "-", with: "_")
        return Setting(
            key.replacingOccurrences(of: "<source>", with: name),
            environment.replacingOccurrences(of: "<SOURCE>", with: upper),
            default: defaultValue,
            kind: kind,
            secret: isSecret,
            summary
        )
    }

    /// The value a tool reads for this setting from `environment` alone: the variable when it is
    /// set and not empty, else the default.
    public func value(in environment: [String: String]) -> String? {
        environment[self.environment].flatMap { $0.isEmpty ? nil : $0 } ?? defaultValue
    }
}

extension Setting {
    /// The URL the sender calls, shared by every source: senders that sign it read it through
    /// ``SourceSettings/publicURL`` and name this setting when it is missing.
    public static let sourcePublicURL = Setting(
        "sources.<source>.public_url",
        "RELAY_<SOURCE>_PUBLIC_URL",
        "The URL the sender is given for this source, without a query (e.g. https://hooks.example.com/webhooks/NAME): senders that sign the URL they call are verified against it, never against Host."
    )
}
