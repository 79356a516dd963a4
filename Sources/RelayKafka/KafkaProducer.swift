import CRdKafka
import Foundation
import Logging
import RelayPrimitives
import ServiceLifecycle

/// An idempotent (`acks=all`) Kafka producer whose every record reports its own delivery.
///
/// Delivery reports complete each record's ``DeliveryFuture``. By default a dedicated thread polls
/// librdkafka's event queue for them; given a `reporter`, librdkafka's own thread wakes the
/// reporter when reports arrive and they are handled there (for the relay: an HTTP event loop, so a
/// batch of acknowledgements reaches the requests waiting for them with one thread hand-off fewer),
/// and the dedicated thread only ends timed waits. Run the producer as a `Service`: on graceful
/// shutdown its thread takes over the queue and keeps polling while it flushes (with the event API
/// a flush only finishes while reports are served), then purges what is left, so every future
/// completes and nothing is silently dropped.
public final class KafkaProducer: Service, Sendable {
    let core: ProducerCore
    private let configuration: KafkaProducerConfiguration

    /// Creates the producer and starts its thread.
    /// - Parameter reporter: where delivery reports (and librdkafka's errors and log lines) are
    ///   handled; it must not block. Without one, the producer's own thread polls for them.
    /// - Parameter tokenProvider: where SASL/OAUTHBEARER tokens come from when librdkafka asks
    ///   (Amazon MSK IAM); nil leaves OAUTHBEARER, if configured, to librdkafka (OIDC).
    public init(
        configuration: KafkaProducerConfiguration,
        logger: Logger,
        reportsOn reporter: (any DeliveryResumer)? = nil,
        tokenProvider: (any OAuthBearerTokenProvider)? = nil
    ) throws(KafkaError) {
        let properties = try configuration.librdkafkaProperties() + [("log.queue", "true")]
        var events = RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG
        if tokenProvider != nil { events |= OAuthBearerRefresh.event }
        let client = try KafkaClient(kind: .producer, properties: properties, events: events)
        self.core = ProducerCore(
            client: client,
            logger: logger,
            reporter: reporter,
            tokenRefresh: tokenProvider.map { OAuthBearerRefresh(client: client, provider: $0, logger: logger) }
        )
        self.configuration = configuration
        logger.info(
            "Kafka producer created",
            metadata: [
                "librdkafka.version": "\(Librdkafka.version)",
                "librdkafka.features": "\(Librdkafka.builtinFeatures.sorted().joined(separator: ","))",
                "kafka.bootstrap": "\(configuration.bootstrapServers)",
            ]
        )
        core.startPolling()
    }

    deinit {
        core.requestStop(deadline: .now)
    }

    /// Hands one record to librdkafka.
    ///
    /// - Returns: the record's delivery future; await it for the broker's acknowledgement.
    /// - Throws: ``KafkaError`` if librdkafka refuses the record at once (local queue full, record
    ///   larger than `message.max.bytes`, producer shut down or fatally failed).
    public func send(_ record: KafkaRecord) throws(KafkaError) -> DeliveryFuture {
        try core.send(record)
    }

    /// Looks up `topics` so their partitions and leaders are cached before the first event needs them
    /// (a first publish to an unknown topic otherwise waits for metadata and may miss its timeout).
    /// With the producer's default `allow.auto.create.topics`, a broker that auto-creates topics
    /// creates them now.
    ///
    /// - Returns: the topics that have a leader for every partition by `timeout`.
    public func warmUp(topics: [String], timeout: Duration) async -> Set<String> {
        let client = core.client
        let deadline = ContinuousClock.now.advanced(by: timeout)
        return await withTaskGroup(of: String?.self) { group in
            for topic in topics {
                group.addTask {
                    await BlockingThread.run(name: "kafka-warmup") {
                        KafkaMetadata.waitForLeaders(client: client, topic: topic, deadline: deadline) ? topic : nil
                    }
                }
            }
            var ready = Set<String>()
            for await topic in group {
                if let topic { ready.insert(topic) }
            }
            if !ready.isEmpty { core.connectivity.withLock { if $0 == .unknown { $0 = .reachable } } }
            return ready
        }
    }

    /// Records not yet reported: queued, in flight or awaiting their report.
    public var outstandingCount: Int { core.client.outstandingCount }

    /// What the producer last learned about its brokers.
    public var connectivity: KafkaConnectivity { core.connectivity.withLock { $0 } }

    /// Waits until shutdown is requested, then flushes (polling), purges the rest and stops.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Flushes queued records for at most the configured flush timeout, purges what remains (their
    /// futures fail with a purge error, so callers keep them), and stops the poll thread.
    public func shutdown() async {
        await shutdown(flushTimeout: configuration.flushTimeout)
    }

    /// As ``shutdown()``, with an explicit flush timeout.
    public func shutdown(flushTimeout: Duration) async {
        await withCheckedContinuation { continuation in
            core.whenStopped { continuation.resume() }
            core.requestStop(deadline: .now.advanced(by: flushTimeout))
        }
    }
}

/// Whether the producer can currently reach its brokers, as far as librdkafka has told it.
public enum KafkaConnectivity: Sendable, Hashable {
    /// No delivery or broker error yet.
    case unknown
    /// The last event was a delivered record.
    case reachable
    /// The last event said every broker is down, or a record failed for lack of a broker.
    case unreachable(reason: String)
    /// A broker refused the connection (``KafkaError/isRefusal``: SASL or TLS). It stays so until a
    /// record is delivered; outages reported after it do not hide it.
    case refused(reason: String)

    /// Whether the state is ``refused(reason:)``.
    public var isRefused: Bool {
        if case .refused = self { return true }
        return false
    }
}

/// The state shared by the producer facade, its thread and, with a reporter, the reporter.
///
/// `@unchecked Sendable`: `client` and `queue` are librdkafka handles, safe to use from any thread
/// (the queue may be polled from two at once while the thread takes it over at shutdown); all
/// mutable Swift state sits in mutexes.
final class ProducerCore: @unchecked Sendable {
    private enum Phase {
        case running
        case draining(deadline: ContinuousClock.Instant)
        case stopped
    }

    private struct Control {
        var phase = Phase.running
        var onStop: [@Sendable () -> Void] = []
    }

    /// A record librdkafka has not reported yet.
    private struct Unreported {
        var future: DeliveryFuture
        /// The record's value: librdkafka reads it in place (it is not copied, see `relay_produce`)
        /// until it reports the record, so the array is kept alive here until then.
        var value: [UInt8]
    }

    private struct InFlight {
        var records: [UInt: Unreported] = [:]
        var lastID: UInt = 0
        /// The values of records still unreported when the poll thread stopped: librdkafka may hold
        /// them until the client is destroyed, so they are never released.
        var abandoned: [[UInt8]] = []
    }

    let client: KafkaClient
    private let queue: OpaquePointer
    private let logger: Logger
    private let control = Locked(Control())
    private let inFlight = Locked(InFlight())
    let deadlines = DeliveryDeadlines()
    let connectivity = Locked(KafkaConnectivity.unknown)
    /// What librdkafka's wake-up callback holds while the reporter serves the queue.
    private let wakeUp: Unmanaged<ReportWakeUp>?

    /// Answers librdkafka's OAUTHBEARER token requests, when a provider was given.
    private let tokenRefresh: OAuthBearerRefresh?

    init(client: KafkaClient, logger: Logger, reporter: (any DeliveryResumer)?, tokenRefresh: OAuthBearerRefresh?) {
        self.client = client
        self.tokenRefresh = tokenRefresh
        self.queue = client.mainQueue()
        self.logger = logger
        self.wakeUp = reporter.map { Unmanaged.passRetained(ReportWakeUp(reporter: $0)) }
        // Forward librdkafka's own log lines to the main queue, where they are logged with the reports.
        rd_kafka_set_log_queue(client.handle, queue)
    }

    deinit {
        rd_kafka_queue_destroy(queue)
    }

    func startPolling() {
        if let wakeUp {
            wakeUp.takeUnretainedValue().core.withLock { $0 = self }
            // Called by librdkafka, with the queue locked, when an event lands in the empty queue.
            // The reporter then drains the queue until it is empty, so the next event calls again.
            rd_kafka_queue_cb_event_enable(
                queue,
                { _, opaque in Unmanaged<ReportWakeUp>.fromOpaque(opaque!).takeUnretainedValue().wake() },
                wakeUp.toOpaque()
            )
            // Events queued before the callback was enabled (the first OAUTHBEARER token request
            // comes with the client) would never call it: the queue is not empty when the next
            // one lands. Drain once now.
            wakeUp.takeUnretainedValue().wake()
        }
        BlockingThread.start(name: "kafka-poll") { self.pollLoop() }
    }

    /// Stops librdkafka calling the reporter; from then on the producer's thread polls the queue.
    private func takeOverQueue() {
        guard let wakeUp else { return }
        // Takes the queue's lock, so no callback is running or will run once it returns; releasing
        // the wake-up then also drops its reference to this core.
        rd_kafka_queue_cb_event_enable(queue, nil, nil)
        wakeUp.release()
    }

    /// Serves every event in the queue (on the reporter).
    fileprivate func drainQueue() {
        while serve(timeoutMilliseconds: 0) {}
    }

    func send(_ record: KafkaRecord) throws(KafkaError) -> DeliveryFuture {
        if case .stopped = control.withLock({ $0.phase }) { throw KafkaError.closed }
        let future = DeliveryFuture(deadlines: deadlines)
        let id = inFlight.withLock { state -> UInt in
            state.lastID += 1
            state.records[state.lastID] = Unreported(future: future, value: record.value)
            return state.lastID
        }
        // Names go in as UTF-8 with their length, the topic through `withCString`: passing a String
        // where C wants `const char *` would copy it into a new array each time.
        let headers = rd_kafka_headers_new(record.headers.count)!
        for header in record.headers {
            var name = header.name
            name.withUTF8 { name in
                withOptionalBytes(header.value) { value in
                    _ = rd_kafka_header_add(
                        headers,
                        name.baseAddress,
                        name.count,
                        value?.baseAddress,
                        value?.count ?? 0
                    )
                }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: id)
        // librdkafka keeps this pointer past the call: it points into the storage of the array held
        // in `inFlight` (the same, never mutated, storage), which lives until the record's report.
        let err = record.value.withUnsafeBytes { value in
            withOptionalBytes(record.key) { key in
                record.topic.withCString { topic in
                    relay_produce(
                        client.handle,
                        topic,
                        value.baseAddress,
                        value.count,
                        key?.baseAddress,
                        key?.count ?? 0,
                        headers,
                        opaque
                    )
                }
            }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_headers_destroy(headers)
            _ = inFlight.withLock { $0.records.removeValue(forKey: id) }
            let fatal = err == RD_KAFKA_RESP_ERR__FATAL
            throw KafkaError(code: KafkaError.Code(err), isFatal: fatal)
        }
        return future
    }

    func requestStop(deadline: ContinuousClock.Instant) {
        control.withLock { control in
            switch control.phase {
            case .running:
                control.phase = .draining(deadline: deadline)
            case .draining(let current) where deadline < current:
                control.phase = .draining(deadline: deadline)
            default:
                break
            }
        }
    }

    func whenStopped(_ callback: @escaping @Sendable () -> Void) {
        let alreadyStopped = control.withLock { control -> Bool in
            if case .stopped = control.phase { return true }
            control.onStop.append(callback)
            return false
        }
        if alreadyStopped { callback() }
    }

    // MARK: Poll thread

    private func pollLoop() {
        var ownsQueue = wakeUp == nil
        while true {
            let phase = control.withLock { $0.phase }
            if case .draining(let deadline) = phase {
                if !ownsQueue {
                    takeOverQueue()
                    ownsQueue = true
                }
                if client.outstandingCount == 0 || ContinuousClock.now >= deadline { break }
                serve(timeoutMilliseconds: 10)
            } else {
                // Wake for the earliest waiting caller's deadline, at most every 50 ms and, as a busy
                // producer always has a deadline due (every wait keeps one, answered or not), at
                // least 10 ms apart: a timed wait ends up to 10 ms late.
                let untilDeadline = max(10, min(50, deadlines.next.map { milliseconds(until: $0) } ?? 50))
                if ownsQueue {
                    serve(timeoutMilliseconds: untilDeadline)
                } else {
                    usleep(UInt32(untilDeadline) * 1000)
                }
            }
            deadlines.expireDue(now: .now)
        }
        let remaining = client.outstandingCount
        if remaining > 0 {
            logger.warning(
                "Purging records Kafka did not acknowledge in time",
                metadata: ["kafka.outstanding": "\(remaining)"]
            )
            rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            let purgeDeadline = ContinuousClock.now.advanced(by: .seconds(2))
            while client.outstandingCount > 0, ContinuousClock.now < purgeDeadline {
                serve(timeoutMilliseconds: 10)
            }
        }
        // Anything still unreported now will never be: fail it so no caller waits forever.
        let orphans = inFlight.withLock { state in
            defer { state.records.removeAll() }
            state.abandoned += state.records.values.map(\.value)
            return state.records.values.map(\.future)
        }
        let purged = KafkaError(code: .purgedInFlight, message: "producer stopped before the broker answered")
        for future in orphans { future.complete(.failure(purged)) }
        let callbacks = control.withLock { control in
            control.phase = .stopped
            defer { control.onStop.removeAll() }
            return control.onStop
        }
        for callback in callbacks { callback() }
    }

    /// Serves at most one event from the main queue; whether there was one.
    @discardableResult
    private func serve(timeoutMilliseconds: Int32) -> Bool {
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds) else { return false }
        var reportedValues: [[UInt8]] = []
        var batch = ResumeBatch()
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_DR:
            reportedValues = handleDeliveryReports(event, into: &batch)
        case RD_KAFKA_EVENT_ERROR:
            handleError(event)
        case RD_KAFKA_EVENT_LOG:
            handleLog(event)
        case OAuthBearerRefresh.event:
            tokenRefresh?.refresh()
        default:
            break
        }
        rd_kafka_event_destroy(event)
        // The reported messages point at their values until the event is gone.
        withExtendedLifetime(reportedValues) {}
        // Waiters wake once librdkafka has let go of the messages, so `outstandingCount` no longer
        // counts a record whose sender already has its answer.
        batch.resume()
        return true
    }

    /// Completes the futures of one batch of reports into `batch`; returns the reported records' values.
    private func handleDeliveryReports(_ event: OpaquePointer, into batch: inout ResumeBatch) -> [[UInt8]] {
        var values: [[UInt8]] = []
        var delivered = false
        var failure: KafkaError?
        while let message = rd_kafka_event_message_next(event) {
            let id = UInt(bitPattern: message.pointee._private)
            let result: DeliveryResult
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result = .success(KafkaAck(partition: message.pointee.partition, offset: message.pointee.offset))
                delivered = true
            } else {
                // Not rd_kafka_message_errstr: for delivery reports it would read the payload as text.
                let error = KafkaError(code: KafkaError.Code(message.pointee.err))
                result = .failure(error)
                failure = error
            }
            guard let record = inFlight.withLock({ $0.records.removeValue(forKey: id) }) else { continue }
            record.future.complete(result, into: &batch)
            values.append(record.value)
        }
        if delivered {
            connectivity.withLock { $0 = .reachable }
        } else if let failure, failure.code == .messageTimedOut {
            connectivity.withLock { if !$0.isRefused { $0 = .unreachable(reason: failure.message) } }
        }
        return values
    }

    private func handleError(_ event: OpaquePointer) {
        let code = KafkaError.Code(rd_kafka_event_error(event))
        let error = KafkaError(
            code: code,
            message: String(cString: rd_kafka_event_error_string(event)),
            isFatal: rd_kafka_event_error_is_fatal(event) != 0
        )
        if error.isRefusal {
            // librdkafka reports the refusal again on every reconnect (its text differs each time,
            // by the milliseconds it took): logged when the producer was not refused already.
            let isNews = connectivity.withLock { state in
                defer { state = .refused(reason: error.message) }
                return !state.isRefused
            }
            if isNews {
                logger.error(
                    "Kafka refused the connection; events are buffered until the credentials or TLS settings are fixed",
                    metadata: ["kafka.error": "\(error)"]
                )
                watchForAcceptance()
            }
            return
        }
        if code == .allBrokersDown {
            connectivity.withLock { if !$0.isRefused { $0 = .unreachable(reason: error.message) } }
        }
        if error.isFatal {
            logger.critical("Kafka producer failed fatally", metadata: ["kafka.error": "\(error)"])
        } else {
            logger.warning("Kafka client error", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// While refused, asks for metadata every few seconds: once a broker answers (the broker's side
    /// was fixed: a user added, a certificate replaced) the producer is reachable again, even if no
    /// record is waiting to prove it. A refused producer is kept out of rotation by `/readyz`, so
    /// without this nothing might ever be sent to clear the state.
    private func watchForAcceptance() {
        Task.detached { [self] in
            while connectivity.withLock({ $0.isRefused }) {
                try? await Task.sleep(for: .seconds(3))
                if case .stopped = control.withLock({ $0.phase }) { return }
                let client = self.client
                let answered = await BlockingThread.run(name: "kafka-probe") {
                    KafkaMetadata.brokers(client: client, deadline: .now.advanced(by: .seconds(2))) != nil
                }
                if answered {
                    let recovered = connectivity.withLock { state in
                        defer { if state.isRefused { state = .reachable } }
                        return state.isRefused
                    }
                    if recovered { logger.info("Kafka accepts the connection again") }
                }
            }
        }
    }

    private func handleLog(_ event: OpaquePointer) {
        var facility: UnsafePointer<CChar>?
        var text: UnsafePointer<CChar>?
        var level: Int32 = 0
        guard rd_kafka_event_log(event, &facility, &text, &level) == 0, let text else { return }
        let message = String(cString: text)
        let metadata: Logger.Metadata = ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
        // syslog levels: 0-3 error and worse, 4 warning, 5-6 notice/info, 7 debug.
        switch level {
        case ...3: logger.error("librdkafka: \(message)", metadata: metadata)
        case 4: logger.warning("librdkafka: \(message)", metadata: metadata)
        case 5...6: logger.info("librdkafka: \(message)", metadata: metadata)
        default: logger.debug("librdkafka: \(message)", metadata: metadata)
        }
    }
}

/// Hands librdkafka's "events arrived" call to the reporter. librdkafka holds an unretained pointer
/// to it while the callback is enabled; the producer retains it until it disables the callback.
private final class ReportWakeUp: Sendable {
    let reporter: any DeliveryResumer
    /// Set once polling starts (the core does not exist yet when the wake-up is made).
    let core = Locked<ProducerCore?>(nil)

    init(reporter: any DeliveryResumer) {
        self.reporter = reporter
    }

    /// Runs with the queue locked, on a librdkafka thread or on whichever thread logged a line:
    /// only schedules the drain (`execute` never runs it before returning, which would lock the
    /// queue again).
    func wake() {
        guard let core = core.withLock({ $0 }) else { return }
        reporter.execute { core.drainQueue() }
    }
}

/// Calls `body` with the bytes of `array`, or with `nil` when there is no array.
private func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}
