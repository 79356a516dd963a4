import CRdKafka
import Foundation
import RelayPrimitives

/// Blocking metadata queries; call them from a ``BlockingThread``.
enum KafkaMetadata {
    /// The partition count of `topic`, retried until `deadline`.
    static func partitionCount(
        client: KafkaClient,
        topic: String,
        deadline: ContinuousClock.Instant
    ) throws(KafkaError) -> Int {
        var lastError = KafkaError(code: .unknownTopicOrPartition, message: "topic \(topic) not found")
        while true {
            switch describe(client: client, topic: topic, deadline: deadline) {
            case .success(let partitions) where !partitions.isEmpty:
                return partitions.count
            case .success:
                break
            case .failure(let error):
                lastError = error
            }
            guard ContinuousClock.now < deadline else { throw lastError }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Whether every partition of `topic` has a leader, retried until `deadline`.
    static func waitForLeaders(client: KafkaClient, topic: String, deadline: ContinuousClock.Instant) -> Bool {
        while true {
            if case .success(let partitions) = describe(client: client, topic: topic, deadline: deadline),
                !partitions.isEmpty, partitions.allSatisfy({ $0.hasLeader })
            {
                return true
            }
            guard ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// The brokers listed by one metadata request, or nil if none answered by `deadline`.
    static func brokers(client: KafkaClient, deadline: ContinuousClock.Instant) -> [String]? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(client.handle, 0, nil, &metadata, milliseconds(until: deadline))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        return (0..<Int(metadata.pointee.broker_cnt)).map { index in
            let broker = metadata.pointee.brokers[index]
            return "\(String(cString: broker.host)):\(broker.port)"
        }
    }

    struct Partition {
        var id: Int32
        var hasLeader: Bool
    }

    /// One metadata request for one topic.
    static func describe(
        client: KafkaClient,
        topic: String,
        deadline: ContinuousClock.Instant
    ) -> Result<[Partition], KafkaError> {
        let topicHandle = rd_kafka_topic_new(client.handle, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(client.handle, 0, topicHandle, &metadata, milliseconds(until: deadline))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            return .failure(KafkaError(code: KafkaError.Code(err)))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return .success([]) }
        let entry = metadata.pointee.topics[0]
        guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError(code: KafkaError.Code(entry.err)))
        }
        let partitions = (0..<Int(entry.partition_cnt)).map { index in
            let partition = entry.partitions[index]
            return Partition(
                id: partition.id,
                hasLeader: partition.leader >= 0 && partition.err == RD_KAFKA_RESP_ERR_NO_ERROR
            )
        }
        return .success(partitions)
    }
}

/// Milliseconds left until `deadline`, at least 1, for librdkafka's timeout arguments.
func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
    Int32(clamping: max(1, (deadline - .now).milliseconds))
}
