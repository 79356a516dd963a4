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

    public init(
        _ key: String,
        _ environment: String,
        default defaultValue: String? = nil,
        secret: Bool = false,
        _ summary: String
    ) {
        self.key = key
        self.environment = environment
        self.defaultValue = defaultValue
        self.summary = summary
        self.isSecret = secret
    }

    /// This per-source setting for one source: `github` → `RELAY_GITHUB_…`, `org-two` → `RELAY_ORG_TWO_…`.
    public func forSource(_ name: String) -> Setting {
        let upper = name.uppercased().replacingOccurrences(of: "-", with: "_")
        return Setting(
            key.replacingOccurrences(of: "<source>", with: name),
            environment.replacingOccurrences(of: "<SOURCE>", with: upper),
            default: defaultValue,
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
