import Logging
import SenderKit

extension RelayConfiguration {
    /// The effective configuration as log metadata, one entry per setting read (`config.` and its
    /// key), logged once at start so an operator sees what the relay actually runs with. The table
    /// decides what is secret (``Setting/isSecret``): a secret is `<redacted>` (a list of them
    /// `<N redacted>`), a secret map such as `kafka.properties` shows its names and hides the values
    /// of secret-looking ones; credentials in any URL are hidden too.
    public var redactedMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for read in settingValues {
            let text: String
            switch (read.value, read.setting.isSecret) {
            case (.text, true): text = "<redacted>"
            case (.list(let items), true): text = "<\(items.count) redacted>"
            case (.map(let map), true): text = Self.redacted(map)
            case (.text(let value), false): text = value
            case (.list(let items), false): text = items.joined(separator: ",")
            case (.map(let map), false):
                text = map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }
            metadata["config." + read.setting.key] = .string(Self.redactingURLSecrets(text))
        }
        return metadata
    }

    /// `text` with the query string and the user information of every URL in it hidden
    /// (`https://user:pass@host/hook?token=x` → `https://<redacted>@host/hook?<redacted>`): senders
    /// and identity providers put credentials there.
    static func redactingURLSecrets(_ text: String) -> String {
        text.replacing(/([A-Za-z][A-Za-z0-9+.\-]*:\/\/)([^\/\s,@?#]+@)?([^\s,?#]*)(\?[^\s,#]*)?/) { match in
            let (_, scheme, userinfo, rest, query) = match.output
            return scheme + (userinfo == nil ? "" : "<redacted>@") + rest + (query == nil ? "" : "?<redacted>")
        }
    }

    /// librdkafka properties with the values of secret-looking names hidden; `sasl.oauthbearer.config`
    /// holds an OAuth client's secret in its text.
    static func redacted(_ properties: [String: String]) -> String {
        let secretWords = ["password", "secret", "key", "jaas", "token", "credential", "oauthbearer.config"]
        return properties.sorted { $0.key < $1.key }.map { key, value in
            let secret = secretWords.contains { key.lowercased().contains($0) }
            return "\(key)=\(secret ? "<redacted>" : value)"
        }
        .joined(separator: ",")
    }
}
