import CRdKafka
import Foundation

extension KafkaProducer {
    /// What happened to one topic of ``createTopics(_:partitions:replicationFactor:timeout:)``.
    public enum TopicCreation: Sendable, Hashable {
        case created
        case alreadyExists
        case failed(KafkaError)
    }

    /// Creates topics through the Kafka admin API (CreateTopics); existing topics are left alone.
    /// - Parameter replicationFactor: -1 for the broker's default.
    public func createTopics(
        _ names: [String],
        partitions: Int,
        replicationFactor: Int,
        timeout: Duration
    ) async -> [String: TopicCreation] {
        let client = core.client
        return await BlockingThread.run(name: "kafka-topics") {
            KafkaTopicAdmin.create(
                client: client,
                names: names,
                partitions: partitions,
                replicationFactor: replicationFactor,
                timeout: timeout
            )
        }
    }
}

/// The blocking CreateTopics call; run it from a ``BlockingThread``.
enum KafkaTopicAdmin {
    static func create(
        client: KafkaClient,
        names: [String],
        partitions: Int,
        replicationFactor: Int,
        timeout: Duration
    ) -> [String: KafkaProducer.TopicCreation] {
        guard !names.isEmpty else { return [:] }
        var results: [String: KafkaProducer.TopicCreation] = [:]
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for name in names {
            guard
                let topic = rd_kafka_NewTopic_new(
                    name,
                    Int32(partitions),
                    Int32(replicationFactor),
                    &errorText,
                    errorText.count
                )
            else {
                results[name] = .failed(KafkaError(code: .invalidArgument, message: String(nullTerminated: errorText)))
                continue
            }
            newTopics.append(topic)
        }
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        _ = rd_kafka_AdminOptions_set_operation_timeout(
            options,
            milliseconds(until: deadline),
            &errorText,
            errorText.count
        )
        _ = rd_kafka_AdminOptions_set_request_timeout(
            options,
            milliseconds(until: deadline),
            &errorText,
            errorText.count
        )
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, milliseconds(until: deadline) + 1000) else {
            for name in names where results[name] == nil {
                results[name] = .failed(KafkaError(code: .timedOut, message: "no CreateTopics answer in time"))
            }
            return results
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let error = KafkaError(
                code: KafkaError.Code(rd_kafka_event_error(event)),
                message: String(cString: rd_kafka_event_error_string(event))
            )
            for name in names where results[name] == nil { results[name] = .failed(error) }
            return results
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let topics = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return results }
        for index in 0..<count {
            let topic = topics[index]
            let name = String(cString: rd_kafka_topic_result_name(topic))
            let code = KafkaError.Code(rd_kafka_topic_result_error(topic))
            switch code {
            case KafkaError.Code(rawValue: 0): results[name] = .created
            case .topicAlreadyExists: results[name] = .alreadyExists
            default:
                let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) }
                results[name] = .failed(KafkaError(code: code, message: text))
            }
        }
        return results
    }
}
