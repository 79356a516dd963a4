import Logging
import RelayKafka

/// What the relay does with its topics before listening: optionally create the missing ones, then
/// look them all up so the first events do not wait for metadata. Missing topics are reported
/// clearly (events for them wait in the buffer until the topics exist).
struct TopicPreparation: Sendable {
    let producer: KafkaProducer
    let settings: RelayConfiguration.Kafka
    let logger: Logger

    func prepare(_ topics: [String]) async {
        let timeout = max(settings.warmupTimeout, .seconds(1))
        if settings.createTopics {
            let results = await producer.createTopics(
                topics,
                partitions: settings.topicPartitions,
                replicationFactor: settings.topicReplicationFactor,
                timeout: timeout
            )
            let created = results.filter { $0.value == .created }.keys.sorted()
            if !created.isEmpty {
                logger.notice(
                    "Created Kafka topics",
                    metadata: ["kafka.topics.created": "\(created.joined(separator: ","))"]
                )
            }
            for (topic, result) in results.sorted(by: { $0.key < $1.key }) {
                if case .failed(let error) = result {
                    logger.error(
                        "Could not create a Kafka topic",
                        metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error)"]
                    )
                }
            }
        }
        guard settings.warmupTimeout > .zero else { return }
        let ready = await producer.warmUp(topics: topics, timeout: settings.warmupTimeout)
        let missing = topics.filter { !ready.contains($0) }
        let metadata: Logger.Metadata = ["kafka.topics.ready": "\(ready.count)/\(topics.count)"]
        if missing.isEmpty {
            logger.info("Kafka reachable; topics ready", metadata: metadata)
        } else if ready.isEmpty, case .refused(let reason) = producer.connectivity {
            logger.error(
                "Kafka refused the connection (credentials or TLS); listening anyway, events are buffered until it is fixed. `webhook-relay config check --connect` says more",
                metadata: metadata.merging(["kafka.error": "\(reason)"]) { $1 }
            )
        } else if ready.isEmpty, case .unreachable = producer.connectivity {
            logger.warning(
                "Kafka is not reachable; listening anyway, events are buffered until it is",
                metadata: metadata
            )
        } else {
            logger.error(
                "Kafka topics are missing; events for them wait in the buffer until they exist. Create them, or set RELAY_KAFKA_CREATE_TOPICS=true",
                metadata: metadata.merging(["kafka.topics.missing": "\(missing.joined(separator: ","))"]) { $1 }
            )
        }
    }
}
