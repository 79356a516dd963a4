import Foundation
import Hummingbird
import Logging
import NIOCore
import RelayKafka
import RetryBuffer
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
        /// Buffer status, inspection and replay.
        case admin
    }

    public let configuration: RelayConfiguration
    public let producer: KafkaProducer
    public let buffer: RetryBuffer
    private let retrier: Retrier
    private let ingress: Application<RouterResponder<BasicRequestContext>>
    private let admin: Application<RouterResponder<BasicRequestContext>>
    private let logger: Logger

    /// Builds the relay from its configuration: opens (and recovers) the buffer, creates the producer.
    /// - Parameters:
    ///   - clock: the calendar clock used for timestamp checks and receive times.
    ///   - onListening: called with each listener's bound port once it accepts connections.
    public init(
        configuration: RelayConfiguration,
        logger: Logger,
        clock: any WallClock = SystemWallClock(),
        onListening: @escaping @Sendable (Listener, Int) async -> Void = { _, _ in }
    ) async throws {
        let buffer = try RetryBuffer.open(
            directory: configuration.buffer.path,
            configuration: BufferConfiguration(
                maximumSize: configuration.buffer.maximumSize,
                segmentSize: configuration.buffer.segmentSize,
                archiveRetention: configuration.buffer.archiveRetention
            ),
            logger: logger,
            clock: { Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down)) }
        )
        do {
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(
                    bootstrapServers: configuration.kafka.bootstrapServers,
                    properties: configuration.kafka.properties,
                    flushTimeout: configuration.kafka.flushTimeout
                ),
                logger: logger
            )
            let health = BrokerHealth(producer: producer)
            let pipeline = try Self.pipeline(
                configuration,
                buffer: buffer,
                producer: producer,
                health: health,
                clock: clock,
                logger: logger
            )
            self.retrier = Retrier(
                buffer: buffer,
                producer: producer,
                health: health,
                configuration: Retrier.Configuration(
                    maximumInFlight: configuration.retry.maximumInFlight,
                    initialBackoff: configuration.retry.initialBackoff,
                    maximumBackoff: configuration.retry.maximumBackoff,
                    deadLetterTopics: Dictionary(
                        uniqueKeysWithValues: configuration.sources.map { ($0.name, $0.deadLetterTopic) }
                    )
                ),
                logger: logger
            )
            self.ingress = Self.ingress(
                configuration,
                pipeline: pipeline,
                producer: producer,
                logger: logger,
                onListening: onListening
            )
            let operations = BufferOperations(buffer: buffer, producer: producer, clock: clock, logger: logger)
            self.admin = Application(
                router: AdminRouter.build(
                    operations: operations,
                    token: configuration.admin.token,
                    clock: clock,
                    logger: logger
                ),
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
        self.logger = logger
    }

    /// The services to run, in start order; a `ServiceGroup` stops them in reverse.
    public var services: [any Service] { [BufferService(buffer: buffer), producer, retrier, admin, ingress] }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    /// The request path, with replay protection persisted in the buffer's seen journal.
    private static func pipeline(
        _ configuration: RelayConfiguration,
        buffer: RetryBuffer,
        producer: KafkaProducer,
        health: BrokerHealth,
        clock: any WallClock,
        logger: Logger
    ) throws -> WebhookPipeline {
        let delivery = EventDelivery(
            producer: producer,
            buffer: buffer,
            health: health,
            publishTimeout: configuration.kafka.publishTimeout,
            logger: logger
        )
        let pipeline = try WebhookPipeline(configuration: configuration, delivery: delivery, clock: clock) {
            key,
            digest,
            expiresAt in
            buffer.rememberSeen(
                SeenDelivery(
                    source: key.source,
                    deliveryID: key.deliveryID,
                    digestHigh: digest.high,
                    digestLow: digest.low,
                    expiresAt: expiresAt
                )
            )
        }
        for seen in buffer.recoveredSeenDeliveries {
            pipeline.restoreSeen(
                source: seen.source,
                deliveryID: seen.deliveryID,
                digest: BodyDigest(high: seen.digestHigh, low: seen.digestLow),
                expiresAt: seen.expiresAt
            )
        }
        return pipeline
    }

    /// The webhook listener; before it accepts connections it looks up the known topics.
    private static func ingress(
        _ configuration: RelayConfiguration,
        pipeline: WebhookPipeline,
        producer: KafkaProducer,
        logger: Logger,
        onListening: @escaping @Sendable (Listener, Int) async -> Void
    ) -> Application<RouterResponder<BasicRequestContext>> {
        let ingress = WebhookIngress(pipeline: pipeline, maxBodySize: configuration.http.maxBodySize, logger: logger)
        let idle = configuration.http.idleTimeout
        var application = Application(
            router: IngressRouter.build(ingress: ingress, logger: logger),
            server: .http1(configuration: .init(idleTimeout: .milliseconds(idle.components.seconds * 1000))),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.http.host, port: configuration.http.port)
            ),
            onServerRunning: { channel in
                await onListening(.ingress, channel.localAddress?.port ?? configuration.http.port)
            },
            logger: logger
        )
        let topics = pipeline.knownTopics
        let warmupTimeout = configuration.kafka.warmupTimeout
        application.beforeServerStarts {
            guard warmupTimeout > .zero else { return }
            let ready = await producer.warmUp(topics: topics, timeout: warmupTimeout)
            let metadata: Logger.Metadata = ["kafka.topics.ready": "\(ready.count)/\(topics.count)"]
            if ready.count == topics.count {
                logger.info("Kafka reachable; topics ready", metadata: metadata)
            } else {
                let missing = topics.filter { !ready.contains($0) }.joined(separator: ",")
                logger.warning(
                    "Kafka topics not ready; listening anyway",
                    metadata: metadata.merging(["kafka.topics.missing": "\(missing)"]) { $1 }
                )
            }
        }
        return application
    }
}

/// Keeps the buffer open while the relay runs and closes it (sync, unlock) last on shutdown.
struct BufferService: Service {
    let buffer: RetryBuffer

    func run() async {
        try? await gracefulShutdown()
        await buffer.close()
    }
}

/// The ingress listener's routes.
enum IngressRouter {
    static let webhookPath: RouterPath = "/webhooks/:source"

    static func build(ingress: WebhookIngress, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(ProblemMiddleware(logger: logger))
        router.post(webhookPath) { request, context in
            await ingress.handle(request, source: context.parameters.get("source") ?? "")
        }
        for method in [HTTPRequest.Method.get, .put, .patch, .delete, .head, .options] {
            router.on(webhookPath, method: method) { request, _ -> Response in
                throw HTTPProblem.methodNotAllowed(request.method)
            }
        }
        router.get("/healthz") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONText.object(["status": .string("ok")])))
            )
        }
        return router
    }
}
