import Foundation
import Hummingbird
import Logging
import NIOCore
import RelayKafka
import RelayPrimitives
import RetryBuffer
import SenderKit
import ServiceLifecycle
import UnixSignals

/// The assembled relay: retry buffer, Kafka producer, retrier, request pipeline, and the ingress
/// and admin listeners, run as services of one `ServiceGroup` that shuts down gracefully on
/// SIGTERM/SIGINT, in reverse order: the ingress stops and finishes its in-flight requests (each ends
/// published or buffered), the admin listener stops, the retrier stops, the producer flushes, and
/// the buffer is synced and unlocked last.
public struct RelayApplication: Sendable {
    /// The relay's two HTTP listeners.
    public enum Listener: Sendable, Hashable {
        /// `POST /webhooks/{source}`.
        case ingress
        /// Buffer status, inspection, replay and metrics.
        case admin
    }

    public let configuration: RelayConfiguration
    public let producer: KafkaProducer
    public let buffer: RetryBuffer
    /// The relay's metrics (exported at the admin listener's `/metrics`).
    package let exporter: MetricsExporter
    private let retrier: Retrier
    private let reloader: ConfigurationReloader?
    private let ingress: any Service
    private let admin: any Service
    /// swift-otel's batching and export, when tracing is on.
    private let tracing: (any Service)?
    private let logger: Logger

    /// Builds the relay from its configuration: opens (and recovers) the buffer, creates the producer.
    /// - Parameters:
    ///   - clock: the calendar clock used for timestamp checks and receive times.
    ///   - onListening: called with each listener's bound port once it accepts connections.
    ///   - reloadingFrom: where the configuration was read, to read it again on SIGHUP and when its
    ///     files change (``ConfigurationReloader``); nil: no reloads.
    public init(
        configuration: RelayConfiguration,
        logger: Logger,
        clock: any WallClock = SystemWallClock(),
        reloadingFrom configurationSource: ConfigurationSource? = nil,
        onListening: @escaping @Sendable (Listener, Int) async -> Void = { _, _ in }
    ) async throws {
        logger.info("Starting webhook-relay", metadata: configuration.redactedMetadata)
        for warning in configuration.warnings {
            logger.warning("Weakened verification", metadata: [LogKey.reason: "\(warning)"])
        }
        let exporter = MetricsExporter(clock: clock)
        let metrics = exporter.metrics
        let tracing = try configuration.tracing.map { settings in
            let backend = try TracingBackend.make(settings, metrics: metrics, logger: logger)
            logger.info(
                "Tracing on",
                metadata: ["endpoint": "\(settings.endpoint)", "service": "\(settings.serviceName)"]
            )
            return backend
        }
        self.tracing = tracing?.service
        let buffer = try RetryBuffer.open(
            directory: configuration.buffer.path,
            configuration: BufferConfiguration(
                maximumSize: configuration.buffer.maximumSize,
                segmentSize: configuration.buffer.segmentSize,
                archiveRetention: configuration.buffer.archiveRetention
            ),
            logger: logger,
            clock: { clock.unixMilliseconds },
            metricsFactory: metrics.factory
        )
        do {
            let producer = try KafkaProducer(
                configuration: configuration.producerConfiguration,
                logger: logger,
                reportsOn: EventLoopResumer.reportLoop,
                tokenProvider: configuration.kafka.tokenProvider(environment: ProcessInfo.processInfo.environment)
            )
            let health = BrokerHealth(publisher: producer)
            let delivery = EventDelivery(
                publisher: producer,
                buffer: buffer,
                health: health,
                publishTimeout: configuration.kafka.publishTimeout,
                metrics: metrics,
                logger: logger
            )
            let pipeline = try Self.pipeline(
                configuration,
                delivery: delivery,
                buffer: buffer,
                clock: clock,
                metrics: metrics,
                tracer: tracing?.tracer
            )
            let readiness = Readiness(
                buffer: buffer,
                producer: producer,
                clock: clock,
                headroom: configuration.http.maxBodySize
            )
            let retrier = Retrier(
                buffer: buffer,
                publisher: producer,
                health: health,
                configuration: Retrier.Configuration(
                    maximumInFlight: configuration.retry.maximumInFlight,
                    initialBackoff: configuration.retry.initialBackoff,
                    maximumBackoff: configuration.retry.maximumBackoff,
                    deadLetterTopics: Self.deadLetterTopics(configuration)
                ),
                metrics: metrics,
                logger: logger,
                tracer: tracing?.tracer
            )
            self.retrier = retrier
            let rateLimiter = RateLimiter(limits: Self.rateLimits(configuration))
            self.reloader = configurationSource.map { configurationSource in
                ConfigurationReloader(
                    source: configurationSource,
                    running: configuration,
                    metrics: metrics,
                    logger: logger
                ) { loaded throws(ConfigurationError) in
                    let before = Set(pipeline.knownTopics + configuration.sources.map(\.deadLetterTopic))
                    try pipeline.replaceSources(loaded.sources)
                    // A new source's topics are looked up (and created, with kafka.create_topics) as
                    // at start, off the reload's path.
                    let added = (pipeline.knownTopics + loaded.sources.map(\.deadLetterTopic)).filter {
                        !before.contains($0)
                    }
                    if !added.isEmpty {
                        let preparation = TopicPreparation(
                            producer: producer,
                            settings: configuration.kafka,
                            logger: logger
                        )
                        Task { await preparation.prepare(added) }
                    }
                    rateLimiter.replace(limits: Self.rateLimits(loaded))
                    retrier.replaceDeadLetterTopics(Self.deadLetterTopics(loaded))
                }
            }
            self.ingress = try Self.ingress(
                configuration,
                pipeline: pipeline,
                rateLimiter: rateLimiter,
                producer: producer,
                readiness: readiness,
                metrics: metrics,
                tracer: tracing?.tracer,
                logger: logger,
                onListening: onListening
            )
            let operations = BufferOperations(
                buffer: buffer,
                publisher: producer,
                clock: clock,
                metrics: metrics,
                logger: logger
            )
            let monitoring = AdminRouter.Monitoring(
                readiness: readiness,
                activity: metrics.activity,
                startedAt: clock.unixMilliseconds
            ) {
                metrics.sample(
                    buffer: buffer.statistics,
                    maximumBufferSize: buffer.configuration.maximumSize,
                    connectivity: producer.connectivity,
                    nowMillis: clock.unixMilliseconds
                )
                return exporter.exposition()
            }
            self.admin = Application(
                router: AdminRouter.build(
                    operations: operations,
                    monitoring: monitoring,
                    token: configuration.admin.token,
                    allowedHosts: configuration.admin.allowedHosts,
                    clock: clock,
                    logger: logger
                ),
                server: IngressTLS.plainServerBuilder(configuration.http),
                configuration: ApplicationConfiguration(
                    address: .hostname(configuration.admin.host, port: configuration.admin.port)
                ),
                onServerRunning: { channel in
                    await onListening(.admin, channel.localAddress?.port ?? configuration.admin.port)
                },
                logger: logger
            )
            self.producer = producer
        } catch {
            await buffer.close()
            throw error
        }
        self.configuration = configuration
        self.buffer = buffer
        self.exporter = exporter
        self.logger = logger
    }

    /// The services to run, in start order; a `ServiceGroup` stops them in reverse.
    /// Tracing starts first and stops last, so the spans of the last requests are exported.
    public var services: [any Service] {
        (tracing.map { [$0] } ?? []) + [BufferService(buffer: buffer), producer, retrier, admin, ingress]
            + (reloader.map { [$0] } ?? [])
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully within `shutdown.timeout`.
    public func run() async throws {
        var group = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        group.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: group).run()
    }

    /// What `webhook-relay serve` does with a loaded configuration: glibc's malloc thresholds
    /// (``ProcessTuning/fixMallocThreshold()``), logging as configured, the relay, which logs each
    /// listener's port once it accepts connections, run until SIGTERM or SIGINT.
    public static func serve(_ configuration: RelayConfiguration, source: ConfigurationSource? = nil) async throws {
        ProcessTuning.fixMallocThreshold()
        RelayLogging.bootstrap(configuration.logging)
        let logger = Logger(label: "webhook-relay")
        let relay = try await RelayApplication(
            configuration: configuration,
            logger: logger,
            reloadingFrom: source
        ) { listener, port in
            switch listener {
            case .ingress: logger.info("Listening for webhooks", metadata: ["port": "\(port)"])
            case .admin: logger.info("Admin API listening", metadata: ["port": "\(port)"])
            }
        }
        try await relay.run()
    }

    /// The request path, with the dedup memory persisted in the buffer's seen journal.
    private static func pipeline(
        _ configuration: RelayConfiguration,
        delivery: EventDelivery,
        buffer: RetryBuffer,
        clock: any WallClock,
        metrics: RelayMetrics,
        tracer: RelayTracer?
    ) throws -> WebhookPipeline {
        try WebhookPipeline(
            configuration: configuration,
            delivery: delivery,
            clock: clock,
            metrics: metrics,
            store: buffer,
            tracer: tracer
        )
    }

    /// Each source's dead-letter topic.
    private static func deadLetterTopics(_ configuration: RelayConfiguration) -> [String: String] {
        Dictionary(uniqueKeysWithValues: configuration.sources.map { ($0.name, $0.deadLetterTopic) })
    }

    /// Each source's request limit.
    private static func rateLimits(_ configuration: RelayConfiguration) -> [String: RateLimiter.Limit] {
        Dictionary(
            uniqueKeysWithValues: configuration.sources.map {
                ($0.name, RateLimiter.Limit(rate: $0.rateLimit, burst: $0.rateLimitBurst))
            }
        )
    }

    /// The webhook listener (plain or TLS); before it accepts connections it looks up the known topics.
    private static func ingress(
        _ configuration: RelayConfiguration,
        pipeline: WebhookPipeline,
        rateLimiter: RateLimiter,
        producer: KafkaProducer,
        readiness: Readiness,
        metrics: RelayMetrics,
        tracer: RelayTracer?,
        logger: Logger,
        onListening: @escaping @Sendable (Listener, Int) async -> Void
    ) throws -> any Service {
        let ingress = WebhookIngress(
            pipeline: pipeline,
            maxBodySize: configuration.http.maxBodySize,
            bodyBudget: BodyBudget(limit: configuration.http.maxBodyBytesInFlight),
            rateLimiter: rateLimiter,
            metrics: metrics,
            logger: logger,
            tracer: tracer,
            secure: configuration.http.tlsCertificatePath != nil
        )
        var application = Application(
            router: IngressRouter.build(ingress: ingress, readiness: readiness, logger: logger),
            server: try IngressTLS.serverBuilder(configuration.http),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.http.host, port: configuration.http.port)
            ),
            onServerRunning: { channel in
                await onListening(.ingress, channel.localAddress?.port ?? configuration.http.port)
            },
            logger: logger
        )
        let topics = pipeline.knownTopics + configuration.sources.map(\.deadLetterTopic)
        let kafka = configuration.kafka
        application.beforeServerStarts {
            await TopicPreparation(producer: producer, settings: kafka, logger: logger).prepare(topics)
        }
        return application
    }
}
