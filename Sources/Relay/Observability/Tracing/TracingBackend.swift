import Logging
import OTel
import RelayPrimitives
import ServiceLifecycle

/// swift-otel's tracer and its exporting service for one relay (no global bootstrap, so several
/// relays in one process keep their own): W3C propagation, spans batched in a bounded queue and
/// posted as OTLP/HTTP protobuf off the request path. OpenTelemetry's environment variables
/// (`OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`…) apply on top.
enum TracingBackend {
    static func make(
        _ settings: RelayConfiguration.Tracing,
        metrics: RelayMetrics,
        logger: Logger
    ) throws -> (tracer: RelayTracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = ["service.version": RelayVersion.current]
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = settings.endpoint
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.sampler = sampler(settings.sampler)
        configuration.traces.batchSpanProcessor.maxQueueSize = settings.maximumQueueSize
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.exportInterval
        // One slow export holds the next ones back, and shutdown waits for the last: both are bounded.
        configuration.traces.otlpExporter.timeout = settings.exportTimeout
        configuration.traces.batchSpanProcessor.exportTimeout = settings.exportTimeout
        // swift-otel tells what became of spans only in its diagnostic log, at debug level.
        let diagnostics = TracingDiagnostics.State(metrics: metrics, logger: logger)
        configuration.diagnosticLogger = .custom(
            Logger(label: "webhook-relay.tracing") { _ in TracingDiagnostics(state: diagnostics) }
        )
        configuration.diagnosticLogLevel = .debug
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (RelayTracer(tracer: backend.factory), backend.service)
    }

    private static func sampler(
        _ sampler: RelayConfiguration.Tracing.Sampler
    ) -> OTel.Configuration.TracesConfiguration.SamplerConfiguration {
        switch sampler {
        case .alwaysOn: .alwaysOn
        case .alwaysOff: .alwaysOff
        case .traceIDRatio(let ratio): .traceIDRatio(ratio: ratio) ?? .alwaysOn
        case .parentBasedAlwaysOn: .parentBasedAlwaysOn
        case .parentBasedAlwaysOff: .parentBasedAlwaysOff
        case .parentBasedTraceIDRatio(let ratio): .parentBasedTraceIDRatio(ratio: ratio) ?? .parentBasedAlwaysOn
        }
    }
}

/// swift-otel's diagnostic log turned into the relay's: spans exported and dropped are counted
/// (`relay_tracing_spans_total`), a collector that stops taking spans is logged once as a warning
/// and once more when it takes them again, errors pass through, and the rest is debug.
struct TracingDiagnostics: LogHandler {
    final class State: Sendable {
        let metrics: RelayMetrics
        let logger: Logger
        /// Whether the last export failed.
        private let failing = Locked(false)

        init(metrics: RelayMetrics, logger: Logger) {
            self.metrics = metrics
            self.logger = logger
        }

        /// Records whether this export failed; returns whether the one before did.
        func exportFailed(_ failed: Bool) -> Bool {
            failing.withLock { failing in
                defer { failing = failed }
                return failing
            }
        }
    }

    let state: State
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let message = event.message.description
        let batch = Self.count(metadata["batch_size"])
        switch message {
        case "Exported batch.":
            state.metrics.tracingSpans(outcome: "exported", count: batch)
            if state.exportFailed(false) { state.logger.notice("Trace export recovered") }
        case "Failed to export batch.":
            state.metrics.tracingSpans(outcome: "dropped", count: batch)
            if !state.exportFailed(true) {
                var details: Logger.Metadata = ["spans": "\(batch)"]
                if let error = event.error { details[LogKey.error] = "\(error)" }
                state.logger.warning("Trace export failed; spans are dropped until it works", metadata: details)
            }
        case "Spans were dropped this iteration because queue was full":
            state.metrics.tracingSpans(outcome: "dropped", count: Self.count(event.metadata?["dropped_count"]))
        default:
            let level: Logger.Level = event.level >= .error ? event.level : .debug
            state.logger.log(level: level, "Tracing: \(message)")
        }
    }

    private static func count(_ value: Logger.Metadata.Value?) -> Int {
        guard case .string(let text)? = value else { return 0 }
        return Int(text) ?? 0
    }
}
