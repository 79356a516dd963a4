/// How to reach Kafka and how the producer behaves.
public struct KafkaProducerConfiguration: Sendable, Hashable {
    /// Comma-separated `host:port` list of brokers.
    public var bootstrapServers: String
    /// Extra librdkafka properties (SASL, SSL, compression, linger…), applied over the defaults.
    public var properties: [String: String]
    /// How long a graceful shutdown keeps delivering queued records before purging the rest.
    public var flushTimeout: Duration
    /// The largest record value this producer is given (the relay's largest accepted body), if known.
    /// librdkafka refuses any record above `message.max.bytes` (default 1,000,000) before it reaches
    /// a broker, so unless that property is set it is raised to fit such a value and its headers:
    /// the broker's own limit (`message.max.bytes`, `max.message.bytes` per topic) then decides.
    public var largestValue: Int?

    public init(
        bootstrapServers: String,
        properties: [String: String] = [:],
        flushTimeout: Duration = .seconds(10),
        largestValue: Int? = nil
    ) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.flushTimeout = flushTimeout
        self.largestValue = largestValue
    }

    /// Room for a record's key and headers (CloudEvents attributes, forwarded sender headers) above
    /// its value.
    static let headerAllowance = 256 * 1024
    /// librdkafka's largest `message.max.bytes`.
    public static let largestMessageMaxBytes = 1_000_000_000

    /// Properties the relay's delivery guarantee depends on; they cannot be overridden.
    public static let enforcedProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
    ]

    /// Defaults chosen for a webhook relay: low latency (each HTTP answer waits for its ack) and a
    /// bounded time in librdkafka before a record is reported failed and goes back to the relay's buffer.
    public static let defaultProperties: [String: String] = [
        "client.id": "webhook-relay",
        "linger.ms": "1",
        "message.timeout.ms": "30000",
        "socket.keepalive.enable": "true",
    ]

    /// The first enforced property that `properties` sets to something weaker, and the value it must
    /// have (`acks=-1` is the same as `all`). The one rule behind the producer's check and the
    /// configuration loader's error.
    public static func weakenedProperty(in properties: [String: String]) -> (key: String, required: String)? {
        for (key, required) in enforcedProperties.sorted(by: { $0.key < $1.key }) {
            if let value = properties[key], value.lowercased() != required, !(key == "acks" && value == "-1") {
                return (key, required)
            }
        }
        return nil
    }

    /// The first property the loaded librdkafka cannot honour, or that would break every produce,
    /// with why: `transactional.id` (the relay produces outside transactions; librdkafka then
    /// fails every produce with "Erroneous state"), a SASL mechanism it does not know or was built
    /// without, OIDC token fetching without its `oidc` feature (libcurl), TLS without `ssl`.
    /// - Parameter features: the library's `builtin.features` (``Librdkafka/builtinFeatures``).
    public static func unsupportedProperty(
        in properties: [String: String],
        features: Set<String> = Librdkafka.builtinFeatures
    ) -> (key: String, problem: String)? {
        let built = "librdkafka \(Librdkafka.version) (builtin.features: \(features.sorted().joined(separator: ",")))"
        if properties["transactional.id"] != nil {
            return (
                "transactional.id",
                "is not supported: the relay produces outside transactions, and librdkafka would fail every produce with \"Erroneous state\"; remove it"
            )
        }
        let mechanismFeatures = [
            "GSSAPI": "sasl_gssapi", "PLAIN": "sasl_plain", "SCRAM-SHA-256": "sasl_scram",
            "SCRAM-SHA-512": "sasl_scram",
            "OAUTHBEARER": "sasl_oauthbearer",
        ]
        for key in ["sasl.mechanism", "sasl.mechanisms"] {
            guard let mechanism = properties[key] else { continue }
            guard let feature = mechanismFeatures[mechanism.uppercased()] else {
                let known = mechanismFeatures.keys.sorted().joined(separator: ", ")
                return (key, "'\(mechanism.prefix(40))' is not a SASL mechanism librdkafka knows (\(known))")
            }
            if !features.contains(feature) {
                return (key, "\(mechanism) needs the \(feature) feature, which \(built) lacks")
            }
        }
        if properties["sasl.oauthbearer.method"]?.lowercased() == "oidc", !features.contains("oidc") {
            return (
                "sasl.oauthbearer.method",
                "oidc needs a librdkafka built with libcurl (the oidc feature), which \(built) is not; "
                    + "use the container image, or a librdkafka from Confluent's packages (see the README)"
            )
        }
        if let protocolName = properties["security.protocol"]?.lowercased(), protocolName.contains("ssl"),
            !features.contains("ssl")
        {
            return ("security.protocol", "\(protocolName) needs the ssl feature, which \(built) lacks")
        }
        return nil
    }

    /// The full property list handed to librdkafka, in a stable order.
    ///
    /// - Throws: ``KafkaError`` if `properties` tries to weaken an enforced property.
    public func librdkafkaProperties() throws(KafkaError) -> [(String, String)] {
        if let (key, required) = Self.weakenedProperty(in: properties) {
            throw KafkaError.configuration(
                key,
                "must be '\(required)': the relay acknowledges webhooks only once Kafka has them"
            )
        }
        var merged = Self.defaultProperties
        if let largestValue {
            let fitting = min(Self.largestMessageMaxBytes, largestValue + Self.headerAllowance)
            merged["message.max.bytes"] = String(max(1_000_000, fitting))
        }
        merged.merge(properties) { _, user in user }
        merged.merge(Self.enforcedProperties) { _, enforced in enforced }
        merged["bootstrap.servers"] = bootstrapServers
        return merged.sorted { $0.key < $1.key }
    }
}
