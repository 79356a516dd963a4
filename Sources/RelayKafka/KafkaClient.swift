import CRdKafka

/// Owns one librdkafka client handle (`rd_kafka_t`) and destroys it when released.
///
/// `@unchecked Sendable`: librdkafka documents its handle as thread-safe for every call this module
/// makes (produce, poll, flush, metadata, purge); the pointer itself never changes after `init`.
final class KafkaClient: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer

        var cValue: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let handle: OpaquePointer

    /// Creates a client from librdkafka properties, applied in order.
    /// - Parameter events: the event types (`RD_KAFKA_EVENT_*`) to route to the main queue, if any.
    init(kind: Kind, properties: [(String, String)], events: Int32? = nil) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError.configuration(key, String(nullTerminated: errorText))
            }
        }
        if let events { rd_kafka_conf_set_events(conf, events) }
        // On success rd_kafka_new owns conf; on failure the caller must free it.
        guard let handle = rd_kafka_new(kind.cValue, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: .invalidArgument, message: String(nullTerminated: errorText))
        }
        self.handle = handle
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// The main event queue (delivery reports, errors, logs). Must be destroyed by the caller.
    func mainQueue() -> OpaquePointer {
        rd_kafka_queue_get_main(handle)
    }

    /// Messages waiting in librdkafka: queued, in flight, or with an unserved delivery report.
    var outstandingCount: Int { Int(rd_kafka_outq_len(handle)) }
}

/// Facts about the linked librdkafka.
public enum Librdkafka {
    /// The version string of the linked library, e.g. `2.0.2`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// What the linked library was built with (`builtin.features`), e.g. `ssl`, `sasl_scram`,
    /// `sasl_oauthbearer`, and `oidc` only where it was built with libcurl. Debian's 2.0.2 has no
    /// `oidc`.
    public static let builtinFeatures: Set<String> = {
        let conf = rd_kafka_conf_new()!
        defer { rd_kafka_conf_destroy(conf) }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard rd_kafka_conf_get(conf, "builtin.features", &buffer, &size) == RD_KAFKA_CONF_OK else { return [] }
        return Set(String(nullTerminated: buffer).split(separator: ",").map(String.init))
    }()
}

extension String {
    /// Decodes a NUL-terminated C string held in an array (librdkafka's error buffers).
    init(nullTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
