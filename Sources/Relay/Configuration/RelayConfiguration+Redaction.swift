import Logging
import SenderKit

extension RelayConfiguration {
    /// The effective configuration as log metadata, with every secret replaced by `<redacted>`:
    /// logged once at start so an operator sees what the relay actually runs with.
    public var redactedMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            "config.http":
                "\(http.host):\(http.port) max_body_size=\(http.maxBodySize) idle_timeout=\(http.idleTimeout.configText) request_timeout=\(http.requestTimeout.configText) tls=\(http.tlsCertificatePath != nil)",
            "config.kafka.bootstrap_servers": "\(kafka.bootstrapServers)",
            "config.kafka.publish_timeout": "\(kafka.publishTimeout.configText)",
            "config.kafka.create_topics": "\(kafka.createTopics)",
            "config.kafka.properties": "\(Self.redacted(kafka.properties))",
            "config.buffer":
                "\(buffer.path) max_size=\(buffer.maximumSize) archive_retention=\(buffer.archiveRetention.configText)",
            "config.retry":
                "initial=\(retry.initialBackoff.configText) max=\(retry.maximumBackoff.configText) in_flight=\(retry.maximumInFlight)",
            "config.admin": "\(admin.host):\(admin.port) token=\(admin.token == nil ? "none" : "<redacted>")",
        ]
        for source in sources {
            let own = source.scheme.settingsSummary
            let tolerance = source.scheme.checksTimestamps ? "tolerance=\(source.timestampTolerance)s " : ""
            metadata["config.sources.\(source.name)"] = """
                scheme=\(source.sender.name) secrets=<\(source.secrets.count) redacted> \(own.isEmpty ? "" : own + " ")\
                \(tolerance)dedup_window=\(source.dedupWindow)s \
                rate_limit=\(source.rateLimit)/s burst=\(source.rateLimitBurst) \
                topic_template=\(source.topicTemplate) key=\(source.key?.description ?? "default") \
                content_mode=\(source.contentMode.rawValue) dead_letter_topic=\(source.deadLetterTopic)
                """
        }
        return metadata.mapValues { .string(Self.redactingURLSecrets("\($0)")) }
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
