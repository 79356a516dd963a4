import CRdKafka

/// An error reported by librdkafka or by the broker, with the classification the relay acts on.
///
/// Kafka errors form an open set (brokers add codes), so this is a struct with a nested `Code`
/// rather than an enum.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A librdkafka response code (`rd_kafka_resp_err_t`): negative values are client-side, positive
    /// values are broker error codes from the Kafka protocol.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }
        var cValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

        /// librdkafka's symbolic name, e.g. `MSG_SIZE_TOO_LARGE` or `_MSG_TIMED_OUT`.
        public var name: String { String(cString: rd_kafka_err2name(cValue)) }
        public var description: String { name }

        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let purgedFromQueue = Code(RD_KAFKA_RESP_ERR__PURGE_QUEUE)
        public static let purgedInFlight = Code(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let destroyed = Code(RD_KAFKA_RESP_ERR__DESTROY)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let requestTimedOut = Code(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        public static let invalidMessage = Code(RD_KAFKA_RESP_ERR_INVALID_MSG)
        public static let invalidMessageSize = Code(RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE)
        public static let invalidTopic = Code(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION)
        public static let recordListTooLarge = Code(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
        public static let topicAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        public static let clusterAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
        public static let invalidRecord = Code(RD_KAFKA_RESP_ERR_INVALID_RECORD)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let policyViolation = Code(RD_KAFKA_RESP_ERR_POLICY_VIOLATION)
        public static let authentication = Code(RD_KAFKA_RESP_ERR__AUTHENTICATION)
        public static let ssl = Code(RD_KAFKA_RESP_ERR__SSL)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let saslAuthenticationFailed = Code(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)

        /// Codes for which retrying the same record can never succeed: the record itself, its topic or
        /// our credentials are refused. Such records belong in a dead-letter topic, not in a retry loop.
        static let permanent: Set<Code> = [
            .messageSizeTooLarge, .invalidMessageSize, .invalidMessage,
            .invalidTopic, .recordListTooLarge, .topicAuthorizationFailed, .clusterAuthorizationFailed,
            .invalidRecord, .policyViolation,
        ]
    }

    /// What went wrong, as a code.
    public var code: Code
    /// librdkafka's human-readable text for the error, possibly with detail from the broker.
    public var message: String
    /// Whether librdkafka reported the client instance unusable (e.g. an idempotence violation).
    public var isFatal: Bool

    public init(code: Code, message: String? = nil, isFatal: Bool = false) {
        self.code = code
        self.message = message ?? String(cString: rd_kafka_err2str(code.cValue))
        self.isFatal = isFatal || code == .fatal
    }

    /// The record can never be accepted as it is (too large, invalid topic, not authorized): send it to a
    /// dead-letter topic instead of retrying.
    public var isPermanent: Bool { Code.permanent.contains(code) }

    /// Retrying the same record later may succeed: the broker was unreachable, slow, or briefly refused.
    public var isRetriable: Bool { !isPermanent && !isFatal }

    public var description: String { "\(code.name): \(message)" }

    /// A broker answered but refused the connection: SASL authentication failed, or TLS did not
    /// verify (an untrusted CA, another server name, no client certificate where one is required).
    /// Unlike an outage this does not pass by itself; the credentials or trust settings must change.
    ///
    /// librdkafka reports a failed TLS handshake as `_SSL`, but a certificate that fails its name
    /// check (or a TLS alert after the handshake) as `_TRANSPORT` carrying OpenSSL's text, which is
    /// then the only sign.
    public var isRefusal: Bool {
        switch code {
        case .authentication, .ssl, .saslAuthenticationFailed: return true
        case .transport: return message.contains("SSL routines") || message.contains("certificate verify failed")
        default: return false
        }
    }
}

extension KafkaError {
    /// A librdkafka configuration property was rejected.
    public static func configuration(_ key: String, _ detail: String) -> KafkaError {
        KafkaError(code: .invalidArgument, message: "invalid librdkafka property '\(key)': \(detail)")
    }

    /// The producer was shut down before the record could be handed to librdkafka.
    static let closed = KafkaError(code: .destroyed, message: "the Kafka producer is shut down")
}
