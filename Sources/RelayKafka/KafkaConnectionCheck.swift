import CRdKafka
import Foundation
import Logging

/// Connects to Kafka with the relay's producer settings and says whether that worked and, if not,
/// why: what `webhook-relay config check --connect` prints. A refused login or TLS handshake
/// (``KafkaError/isRefusal``) ends the check at once; anything else is retried until the timeout,
/// whose last error is the answer.
public enum KafkaConnectionCheck {
    /// A broker answered a metadata request.
    public struct Connected: Sendable, Hashable {
        /// Every broker the cluster listed, as `host:port` (what the relay connects to next).
        public var brokers: [String]
    }

    /// Blocks until connected, refused, or `timeout` has passed; run it where blocking is fine.
    /// - Parameter tokenProvider: as the producer's (Amazon MSK IAM tokens).
    public static func run(
        configuration: KafkaProducerConfiguration,
        tokenProvider: (any OAuthBearerTokenProvider)? = nil,
        timeout: Duration
    ) -> Result<Connected, KafkaError> {
        let client: KafkaClient
        do {
            // The producer's own properties, so the check sees what `serve` would; librdkafka's log
            // lines go to the queue, which is drained unread, instead of the terminal.
            let properties = try configuration.librdkafkaProperties() + [("log.queue", "true")]
            var events = RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG
            if tokenProvider != nil { events |= OAuthBearerRefresh.event }
            client = try KafkaClient(kind: .producer, properties: properties, events: events)
        } catch {
            return .failure(error)
        }
        let tokenRefresh = tokenProvider.map {
            OAuthBearerRefresh(client: client, provider: $0, logger: Logger(label: "webhook-relay.check"))
        }
        let queue = client.mainQueue()
        defer { rd_kafka_queue_destroy(queue) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var lastError = KafkaError(code: .timedOut, message: "no broker answered within \(timeout)")
        while true {
            let attempt = min(deadline, ContinuousClock.now.advanced(by: .milliseconds(500)))
            if let brokers = KafkaMetadata.brokers(client: client, deadline: attempt) {
                return .success(Connected(brokers: brokers))
            }
            while let event = rd_kafka_queue_poll(queue, 0) {
                defer { rd_kafka_event_destroy(event) }
                if rd_kafka_event_type(event) == OAuthBearerRefresh.event { tokenRefresh?.refresh() }
                guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_ERROR else { continue }
                let error = KafkaError(
                    code: KafkaError.Code(rd_kafka_event_error(event)),
                    message: String(cString: rd_kafka_event_error_string(event))
                )
                if error.isRefusal { return .failure(error) }
                // "All brokers down" follows the error that says why; keep the why.
                if error.code != .allBrokersDown || lastError.code == .timedOut { lastError = error }
            }
            if ContinuousClock.now >= deadline { return .failure(lastError) }
            // A request that failed at once (no connection yet) is not repeated in a busy loop.
            if ContinuousClock.now < attempt { Thread.sleep(forTimeInterval: 0.1) }
        }
    }

    /// ``run(configuration:tokenProvider:timeout:)`` on a thread of its own, for async callers.
    public static func runBlocking(
        configuration: KafkaProducerConfiguration,
        tokenProvider: (any OAuthBearerTokenProvider)? = nil,
        timeout: Duration
    ) async -> Result<Connected, KafkaError> {
        await BlockingThread.run(name: "kafka-check") {
            run(configuration: configuration, tokenProvider: tokenProvider, timeout: timeout)
        }
    }
}
