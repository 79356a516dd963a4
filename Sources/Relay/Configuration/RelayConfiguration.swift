import Logging
import SenderKit

/// Everything the relay needs to run, loaded from a YAML file and environment variables (see
/// ``RelayConfiguration/load(environment:configPath:)``).
public struct RelayConfiguration: Sendable {
    /// The ingress HTTP listener.
    public struct HTTP: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// Largest accepted body in bytes; larger requests get 413.
        public var maxBodySize: Int
        /// Most request-body bytes held at once; a request that would pass it gets 503.
        public var maxBodyBytesInFlight: Int
        /// A connection with no traffic for this long is closed.
        public var idleTimeout: Duration
        /// From a request's first byte to its last, at most this long; slower clients are disconnected.
        public var requestTimeout: Duration
        /// PEM certificate chain and private key: with both, the listener speaks HTTPS.
        public var tlsCertificatePath: String?
        public var tlsKeyPath: String?
    }

    /// The Kafka cluster and how the relay publishes to it.
    public struct Kafka: Sendable, Hashable {
        public var bootstrapServers: String
        /// How long a request waits for Kafka's acknowledgement before giving up on the fast path.
        public var publishTimeout: Duration
        /// How long a shutdown keeps delivering queued records.
        public var flushTimeout: Duration
        /// How long start-up waits for the known topics' metadata before listening anyway.
        public var warmupTimeout: Duration
        /// librdkafka properties passed through unchanged.
        public var properties: [String: String]
        /// Create missing topics at start (known event types and dead-letter topics).
        public var createTopics: Bool
        public var topicPartitions: Int
        /// -1 means the broker's default.
        public var topicReplicationFactor: Int
        /// Amazon MSK IAM sign-in, when set.
        public var mskIAM: MSKIAM?
    }

    /// Amazon MSK IAM: the region the token is signed for, and a role to assume first, if any.
    public struct MSKIAM: Sendable, Hashable {
        public var region: String
        public var roleARN: String?
    }

    /// The disk-backed retry buffer and the archive.
    public struct Buffer: Sendable, Hashable {
        /// Directory of the buffer; one relay per directory.
        public var path: String
        public var maximumSize: Int
        public var segmentSize: Int
        /// How long delivered events stay replayable; zero turns the archive off.
        public var archiveRetention: Duration
    }

    /// The admin listener (buffer status, inspection, replay; later metrics).
    public struct Admin: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// The bearer token admin calls must present; optional only on a loopback address.
        public var token: String?
        /// Host names the admin listener answers to besides `localhost` and address literals.
        public var allowedHosts: [String]
    }

    /// The memory of accepted deliveries (dedup).
    public struct Dedup: Sendable, Hashable {
        /// Deliveries remembered at most, across all sources; beyond, new deliveries get 503.
        public var maximumEntries: Int
    }

    /// How the retrier drains the buffer.
    public struct Retry: Sendable, Hashable {
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        public var maximumInFlight: Int
    }

    /// One webhook source at `POST /webhooks/{name}`, verified by one of the registered senders.
    public struct Source: Sendable {
        public var name: String
        /// The sender its `scheme:` names.
        public var sender: any Sender
        /// The sender's scheme, configured for this source (its secrets and settings).
        public var scheme: any WebhookScheme
        /// Active secrets; a signature under any of them passes.
        public var secrets: [String]
        /// Seconds the signed timestamp may differ from now, in either direction (for senders that
        /// sign one).
        public var timestampTolerance: Int64
        /// The URL the sender calls (`public_url`), without a query; `nil` when not configured.
        public var publicURL: String?
        /// Seconds an accepted delivery id is remembered (at least the tolerance).
        public var dedupWindow: Int64
        /// Requests per second accepted on average (0: no limit) and at once.
        public var rateLimit: Int
        public var rateLimitBurst: Int
        /// The CloudEvents `source` attribute.
        public var cloudEventSource: String
        public var topicTemplate: String
        /// Per-event-type topic names, e.g. `pull_request.opened: github.prs`.
        public var topicOverrides: [String: String]
        /// The body field that becomes the Kafka key, instead of the sender's default.
        public var key: JSONPointer?
        public var contentMode: CloudEventEnvelope.ContentMode
        /// Where events Kafka refuses permanently go, e.g. `github.deadletter`.
        public var deadLetterTopic: String

        /// How long deliveries of senders that sign no timestamp are remembered by default.
        public static let untimestampedDedupWindow: Int64 = 6 * 3600
        /// The least a timed sender's deliveries are remembered when neither the tolerance nor the
        /// window is set.
        public static let timedDedupWindow: Int64 = 300
    }

    /// How the relay logs.
    public struct Logging: Sendable, Hashable {
        public enum Format: String, Sendable, CaseIterable {
            case text
            case json
        }

        public var level: Logger.Level
        public var format: Format
    }

    /// OpenTelemetry tracing: where spans go and which are kept. `nil` when tracing is off.
    public struct Tracing: Sendable, Hashable {
        /// Which traces are recorded (OpenTelemetry's `OTEL_TRACES_SAMPLER` values).
        public enum Sampler: Sendable, Hashable {
            case alwaysOn
            case alwaysOff
            case traceIDRatio(Double)
            case parentBasedAlwaysOn
            case parentBasedAlwaysOff
            case parentBasedTraceIDRatio(Double)
        }

        /// The OTLP/HTTP URL spans are posted to, used as is.
        public var endpoint: String
        public var serviceName: String
        public var sampler: Sampler
        /// Finished spans held for export at most.
        public var maximumQueueSize: Int
        public var exportInterval: Duration
        /// How long one export may take, and shutdown's last export.
        public var exportTimeout: Duration
    }

    public var http: HTTP
    public var kafka: Kafka
    public var buffer: Buffer
    public var dedup: Dedup
    public var retry: Retry
    public var admin: Admin
    public var sources: [Source]
    public var logging: Logging
    public var tracing: Tracing? = nil
    /// The longest a graceful shutdown may take before the process gives up.
    public var shutdownTimeout: Duration
    /// What the configuration allows but weakens (a short secret, a verification policy that checks
    /// one signature of two), one sentence each; logged as warnings at start and by `config check`.
    public var warnings: [String]
    /// Every setting the loader read, with the value it used (set, or the default), in reading
    /// order: what the start-up log and `config check` show, secrets redacted by the table
    /// (``Setting/isSecret``).
    public var settingValues: [SettingValue] = []

    /// One setting as read: its key (with the source's name for per-source settings) and value.
    public struct SettingValue: Sendable, Hashable {
        public enum Value: Sendable, Hashable {
            case text(String)
            case list([String])
            case map([String: String])
        }

        public var setting: Setting
        public var value: Value
    }

    /// The source served at `/webhooks/{name}`.
    public func source(named name: String) -> Source? {
        sources.first { $0.name == name }
    }
}
