import Foundation
import SenderKit

extension Setting {
    public static let configFile = Setting("", "RELAY_CONFIG", "Path of the YAML configuration file (also --config).")

    public static let httpHost = Setting(
        "http.host",
        "RELAY_HTTP_HOST",
        default: "0.0.0.0",
        "Address the webhook listener binds."
    )
    public static let httpPort = Setting(
        "http.port",
        "RELAY_HTTP_PORT",
        default: "8080",
        kind: .integer(0...65535),
        "Port of the webhook listener."
    )
    public static let httpMaxBodySize = Setting(
        "http.max_body_size",
        "RELAY_HTTP_MAX_BODY_SIZE",
        default: "5MiB",
        kind: .byteSize(1024...(1 << 30)),
        "Largest accepted request body; larger gets 413."
    )
    public static let httpMaxBodyBytesInFlight = Setting(
        "http.max_body_bytes_in_flight",
        "RELAY_HTTP_MAX_BODY_BYTES_IN_FLIGHT",
        default: "64MiB",
        kind: .byteSize(1024...(1 << 40)),
        "Most request-body bytes held at once, all connections together; beyond, 503 with Retry-After from the head."
    )
    public static let httpIdleTimeout = Setting(
        "http.idle_timeout",
        "RELAY_HTTP_IDLE_TIMEOUT",
        default: "30s",
        kind: .duration(.seconds(1)...(.seconds(3600))),
        "Close connections silent for this long (slow or stalled clients)."
    )
    public static let httpRequestTimeout = Setting(
        "http.request_timeout",
        "RELAY_HTTP_REQUEST_TIMEOUT",
        default: "30s",
        kind: .duration(.seconds(1)...(.seconds(3600))),
        "A request must arrive completely within this time of its first byte; slower clients are cut off."
    )

    public static let httpTLSCertificate = Setting(
        "http.tls_certificate",
        "RELAY_HTTP_TLS_CERTIFICATE",
        "PEM certificate chain; with http.tls_key the webhook listener speaks HTTPS."
    )
    public static let httpTLSKey = Setting("http.tls_key", "RELAY_HTTP_TLS_KEY", "PEM private key of the certificate.")

    public static let kafkaBootstrapServers = Setting(
        "kafka.bootstrap_servers",
        "RELAY_KAFKA_BOOTSTRAP_SERVERS",
        "Comma-separated Kafka brokers (required)."
    )
    public static let kafkaPublishTimeout = Setting(
        "kafka.publish_timeout",
        "RELAY_KAFKA_PUBLISH_TIMEOUT",
        default: "2s",
        kind: .duration(.milliseconds(10)...(.seconds(25))),
        "How long a request waits for Kafka's acknowledgement."
    )
    public static let kafkaFlushTimeout = Setting(
        "kafka.flush_timeout",
        "RELAY_KAFKA_FLUSH_TIMEOUT",
        default: "10s",
        kind: .duration(.zero...(.seconds(600))),
        "How long shutdown keeps delivering queued events."
    )
    public static let kafkaWarmupTimeout = Setting(
        "kafka.warmup_timeout",
        "RELAY_KAFKA_WARMUP_TIMEOUT",
        default: "10s",
        kind: .duration(.zero...(.seconds(300))),
        "How long start-up waits for the known topics' metadata before listening anyway (0 skips it)."
    )
    public static let kafkaMSKIAMRegion = Setting(
        "kafka.aws_msk_iam.region",
        "RELAY_KAFKA_AWS_MSK_IAM_REGION",
        "Amazon MSK IAM: the cluster's AWS region. Set, the relay signs in with IAM (SASL_SSL, OAUTHBEARER), with credentials from AWS's default chain."
    )
    public static let kafkaMSKIAMRoleARN = Setting(
        "kafka.aws_msk_iam.role_arn",
        "RELAY_KAFKA_AWS_MSK_IAM_ROLE_ARN",
        "Amazon MSK IAM: a role to assume (STS AssumeRole) with the chain's credentials before signing."
    )
    public static let kafkaCreateTopics = Setting(
        "kafka.create_topics",
        "RELAY_KAFKA_CREATE_TOPICS",
        default: "false",
        kind: .boolean,
        "Create missing topics (known event types, dead-letter topics) at start through the Kafka admin API."
    )
    public static let kafkaTopicPartitions = Setting(
        "kafka.topic_partitions",
        "RELAY_KAFKA_TOPIC_PARTITIONS",
        default: "6",
        kind: .integer(1...10_000),
        "Partitions of topics the relay creates."
    )
    public static let kafkaTopicReplicationFactor = Setting(
        "kafka.topic_replication_factor",
        "RELAY_KAFKA_TOPIC_REPLICATION_FACTOR",
        default: "-1",
        kind: .integer(-1...100),
        "Replication factor of topics the relay creates (-1: the broker's default)."
    )
    public static let kafkaProperties = Setting(
        "kafka.properties",
        "RELAY_KAFKA_PROPERTY_<NAME>",
        secret: true,
        "Any librdkafka property (SASL, SSL, compression…); sasl.password is RELAY_KAFKA_PROPERTY_SASL_PASSWORD, or …_FILE."
    )

    /// The environment variable that sets the librdkafka property `property`
    /// (`sasl.password` → `RELAY_KAFKA_PROPERTY_SASL_PASSWORD`).
    public static func kafkaPropertyVariable(_ property: String) -> String {
        "RELAY_KAFKA_PROPERTY_" + property.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    public static let bufferPath = Setting(
        "buffer.path",
        "RELAY_BUFFER_PATH",
        default: "relay-buffer",
        "Directory of the disk-backed retry buffer (one relay per directory; keep it on a persistent volume)."
    )
    public static let bufferMaxSize = Setting(
        "buffer.max_size",
        "RELAY_BUFFER_MAX_SIZE",
        default: "1GiB",
        kind: .byteSize((1 << 20)...(1 << 50)),
        "Most disk the buffer and archive may use; when full, requests Kafka cannot take get 503."
    )
    public static let dedupMaxEntries = Setting(
        "dedup.max_entries",
        "RELAY_DEDUP_MAX_ENTRIES",
        default: "2000000",
        kind: .integer(1...1_000_000_000),
        "Most deliveries remembered for dedup across all sources (16 to 43 bytes each); beyond, 503."
    )
    public static let bufferSegmentSize = Setting(
        "buffer.segment_size",
        "RELAY_BUFFER_SEGMENT_SIZE",
        default: "64MiB",
        kind: .byteSize((64 << 10)...(1 << 30)),
        "Size at which a buffer segment file is closed and a new one started."
    )
    public static let archiveRetention = Setting(
        "archive.retention",
        "RELAY_ARCHIVE_RETENTION",
        default: "24h",
        kind: .duration(.zero...(.seconds(90 * 86_400))),
        "How long delivered events stay replayable (0 turns the archive off)."
    )
    public static let retryInitialBackoff = Setting(
        "retry.initial_backoff",
        "RELAY_RETRY_INITIAL_BACKOFF",
        default: "250ms",
        kind: .duration(.milliseconds(1)...(.seconds(3600))),
        "First wait after a failed retry; doubles per failure, with jitter."
    )
    public static let retryMaxBackoff = Setting(
        "retry.max_backoff",
        "RELAY_RETRY_MAX_BACKOFF",
        default: "30s",
        kind: .duration(.milliseconds(1)...(.seconds(86_400))),
        "Longest wait between retries."
    )
    public static let retryMaxInFlight = Setting(
        "retry.max_in_flight",
        "RELAY_RETRY_MAX_IN_FLIGHT",
        default: "1000",
        kind: .integer(1...100_000),
        "Buffered events published at once while draining (one per key at a time)."
    )

    public static let adminHost = Setting(
        "admin.host",
        "RELAY_ADMIN_HOST",
        default: "127.0.0.1",
        "Address of the admin listener (buffer status, inspection, replay)."
    )
    public static let adminPort = Setting(
        "admin.port",
        "RELAY_ADMIN_PORT",
        default: "8081",
        kind: .integer(0...65535),
        "Port of the admin listener."
    )
    public static let adminToken = Setting(
        "admin.token",
        "RELAY_ADMIN_TOKEN",
        secret: true,
        "Bearer token for admin calls; required when the admin listener is not on loopback."
    )
    public static let adminTokenFile = Setting(
        "admin.token_file",
        "RELAY_ADMIN_TOKEN_FILE",
        "File holding the admin token (Kubernetes secret mounts)."
    )
    public static let adminAllowedHosts = Setting(
        "admin.allowed_hosts",
        "RELAY_ADMIN_ALLOWED_HOSTS",
        "Host names the admin listener answers to besides localhost and IP addresses (comma-separated)."
    )

    public static let sourceScheme = Setting(
        "sources.<source>.scheme",
        "RELAY_<SOURCE>_SCHEME",
        "The sender that signs this source's deliveries (see `config reference` for the list); defaults to the source name when that is a sender's."
    )
    public static let sourceSecrets = Setting(
        "sources.<source>.secrets",
        "RELAY_<SOURCE>_SECRETS",
        secret: true,
        "Comma-separated active signing secrets (rotation: any one matches)."
    )
    public static let sourceSecretsFile = Setting(
        "sources.<source>.secrets_file",
        "RELAY_<SOURCE>_SECRETS_FILE",
        "File holding the secrets, one per line or comma-separated."
    )
    public static let sourceTimestampTolerance = Setting(
        "sources.<source>.timestamp_tolerance",
        "RELAY_<SOURCE>_TIMESTAMP_TOLERANCE",
        default: "300s",
        kind: .duration(.seconds(1)...(.seconds(86_400))),
        "How far the signed timestamp may be from now, either way (schemes that sign one)."
    )
    public static let sourceDedupWindow = Setting(
        "sources.<source>.dedup_window",
        "RELAY_<SOURCE>_DEDUP_WINDOW",
        kind: .duration(.seconds(1)...(.seconds(366 * 86_400))),
        "How long accepted deliveries are remembered, so a retry is a duplicate: at least the tolerance, which is the default; 6h for schemes that sign no timestamp."
    )
    /// The former name of ``sourceDedupWindow``, still read (with a deprecation warning); not listed.
    static let sourceReplayWindow = Setting(
        "sources.<source>.replay_window",
        "RELAY_<SOURCE>_REPLAY_WINDOW",
        kind: .duration(.seconds(1)...(.seconds(366 * 86_400))),
        "Deprecated: the former name of dedup_window."
    )
    public static let sourceRateLimit = Setting(
        "sources.<source>.rate_limit",
        "RELAY_<SOURCE>_RATE_LIMIT",
        default: "0",
        kind: .integer(0...1_000_000),
        "Requests per second accepted on average; more get 429 with Retry-After (0: no limit)."
    )
    public static let sourceRateLimitBurst = Setting(
        "sources.<source>.rate_limit_burst",
        "RELAY_<SOURCE>_RATE_LIMIT_BURST",
        kind: .integer(1...10_000_000),
        "Requests accepted at once above the average; defaults to one second's worth (the rate)."
    )
    public static let sourceCloudEventSource = Setting(
        "sources.<source>.cloudevents_source",
        "RELAY_<SOURCE>_CLOUDEVENTS_SOURCE",
        default: "(per scheme)",
        "The CloudEvents source attribute."
    )
    public static let sourceTopicTemplate = Setting(
        "sources.<source>.topic_template",
        "RELAY_<SOURCE>_TOPIC_TEMPLATE",
        default: "(per scheme)",
        "Topic name template: {source}, {family}, {action}, {event}."
    )
    public static let sourceTopics = Setting(
        "sources.<source>.topics",
        "RELAY_<SOURCE>_TOPICS",
        "Per-event-type topic overrides (in the environment: TYPE=topic,TYPE=topic)."
    )
    public static let sourceKey = Setting(
        "sources.<source>.key",
        "RELAY_<SOURCE>_KEY",
        default: "(per scheme)",
        "JSON pointer to the body field that becomes the Kafka key, e.g. /data/object/id (the delivery id when absent)."
    )
    public static let sourceContentMode = Setting(
        "sources.<source>.content_mode",
        "RELAY_<SOURCE>_CONTENT_MODE",
        default: "binary",
        "CloudEvents content mode: binary (raw body as value) or structured."
    )

    public static let sourceDeadLetterTopic = Setting(
        "sources.<source>.dead_letter_topic",
        "RELAY_<SOURCE>_DEAD_LETTER_TOPIC",
        default: "<source>.deadletter",
        "Where events Kafka refuses permanently (too large, invalid topic, not authorized) go."
    )

    public static let shutdownTimeout = Setting(
        "shutdown.timeout",
        "RELAY_SHUTDOWN_TIMEOUT",
        default: "30s",
        kind: .duration(.seconds(1)...(.seconds(3600))),
        "The longest a graceful shutdown (finish requests, flush Kafka, sync the buffer) may take."
    )

    public static let logLevel = Setting(
        "logging.level",
        "RELAY_LOG_LEVEL",
        default: "info",
        "trace, debug, info, notice, warning, error or critical."
    )
    public static let logFormat = Setting(
        "logging.format",
        "RELAY_LOG_FORMAT",
        default: "text",
        "text or json (one JSON object per line)."
    )

    // Tracing reads OpenTelemetry's own variables, so a deployment configured for other services
    // configures the relay too.
    public static let tracingEndpoint = Setting(
        "tracing.endpoint",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTLP/HTTP (protobuf) URL spans are sent to, used as is, e.g. http://collector:4318/v1/traces; "
            + "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 also works (/v1/traces is added). Unset: no tracing."
    )
    public static let tracingDisabled = Setting(
        "tracing.disabled",
        "OTEL_SDK_DISABLED",
        default: "false",
        kind: .boolean,
        "true turns tracing off even with an endpoint."
    )
    public static let tracingServiceName = Setting(
        "tracing.service_name",
        "OTEL_SERVICE_NAME",
        default: "webhook-relay",
        "The service.name of the relay's spans."
    )
    public static let tracingSampler = Setting(
        "tracing.sampler",
        "OTEL_TRACES_SAMPLER",
        default: "parentbased_always_on",
        "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio."
    )
    public static let tracingSamplerArgument = Setting(
        "tracing.sampler_arg",
        "OTEL_TRACES_SAMPLER_ARG",
        "The ratio, 0 to 1, of the traceidratio samplers (default 1)."
    )
    public static let tracingMaxQueueSize = Setting(
        "tracing.max_queue_size",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        default: "2048",
        kind: .integer(1...1_000_000),
        "Finished spans held for export at most; beyond, spans are dropped and counted."
    )
    public static let tracingExportInterval = Setting(
        "tracing.export_interval",
        "RELAY_TRACING_EXPORT_INTERVAL",
        default: "5s",
        kind: .duration(.milliseconds(10)...(.seconds(600))),
        "How often finished spans are exported (sooner when a batch of 512 is ready)."
    )
    public static let tracingExportTimeout = Setting(
        "tracing.export_timeout",
        "RELAY_TRACING_EXPORT_TIMEOUT",
        default: "10s",
        kind: .duration(.milliseconds(100)...(.seconds(120))),
        "How long one export may take; a collector slower than this loses the batch (counted as dropped)."
    )

    /// Every setting of the relay itself, in the order the reference lists them (each sender adds
    /// its own: ``Sender/settings``).
    public static let all: [Setting] = [
        .configFile, .httpHost, .httpPort, .httpMaxBodySize, .httpMaxBodyBytesInFlight, .httpIdleTimeout,
        .httpRequestTimeout, .httpTLSCertificate,
        .httpTLSKey,
        .kafkaBootstrapServers, .kafkaPublishTimeout, .kafkaFlushTimeout, .kafkaWarmupTimeout,
        .kafkaCreateTopics, .kafkaTopicPartitions, .kafkaTopicReplicationFactor, .kafkaProperties,
        .kafkaMSKIAMRegion, .kafkaMSKIAMRoleARN,
        .bufferPath, .bufferMaxSize, .bufferSegmentSize, .archiveRetention, .dedupMaxEntries,
        .retryInitialBackoff, .retryMaxBackoff, .retryMaxInFlight,
        .adminHost, .adminPort, .adminToken, .adminTokenFile, .adminAllowedHosts,
        .sourceScheme, .sourceSecrets, .sourceSecretsFile,
        .sourceTimestampTolerance, .sourceDedupWindow, .sourcePublicURL, .sourceRateLimit, .sourceRateLimitBurst,
        .sourceCloudEventSource, .sourceTopicTemplate,
        .sourceTopics, .sourceKey, .sourceContentMode, .sourceDeadLetterTopic, .shutdownTimeout, .logLevel, .logFormat,
        .tracingEndpoint, .tracingDisabled, .tracingServiceName, .tracingSampler, .tracingSamplerArgument,
        .tracingMaxQueueSize, .tracingExportInterval, .tracingExportTimeout,
    ]
}
