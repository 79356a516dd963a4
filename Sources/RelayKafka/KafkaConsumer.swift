import CRdKafka
import Foundation

/// Reads topics back from the beginning, without a consumer group: every partition is assigned
/// explicitly and read up to its high watermark. Tests use it to check what the relay produced.
/// `package`, not public: it is no part of the relay's API, but it must live in the one module that
/// imports librdkafka.
///
/// `@unchecked Sendable`: all use of the client handle happens inside ``readAll(topic:timeout:)``,
/// which runs on its own thread, and librdkafka handles are thread-safe.
package final class KafkaConsumer: @unchecked Sendable {
    private let client: KafkaClient

    /// Connects to `bootstrapServers`; `properties` are extra librdkafka settings (SASL, SSL…).
    package init(bootstrapServers: String, properties: [String: String] = [:]) throws(KafkaError) {
        var merged: [String: String] = [
            "bootstrap.servers": bootstrapServers,
            "group.id": "webhook-relay-reader-\(UUID().uuidString)",
            "enable.auto.commit": "false",
            "enable.partition.eof": "false",
            // If the broker deletes old records while a read is under way, go on from the earliest
            // record it still keeps instead of jumping to the end and waiting there.
            "auto.offset.reset": "earliest",
            "log_level": "3",
        ]
        merged.merge(properties) { _, user in user }
        client = try KafkaClient(kind: .consumer, properties: merged.sorted { $0.key < $1.key })
        rd_kafka_poll_set_consumer(client.handle)
    }

    deinit {
        rd_kafka_consumer_close(client.handle)
    }

    /// Every record of `topic`, in partition then offset order, up to the high watermark seen when
    /// reading starts. A topic that does not exist yet is waited for until `timeout`. Records the broker
    /// has already deleted (retention) are not there to read: a partition's first offset then is above 0.
    package func readAll(topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaMessage] {
        let client = self.client
        let result = await BlockingThread.run(name: "kafka-read") { () -> Result<[KafkaMessage], KafkaError> in
            Result { () throws(KafkaError) in try Self.read(client: client, topic: topic, timeout: timeout) }
        }
        return try result.get()
    }

    /// Waits until `topic` holds at least `count` records (or `timeout` passes) and returns them all.
    package func waitForMessages(
        topic: String,
        count: Int,
        timeout: Duration = .seconds(15)
    ) async throws(KafkaError) -> [KafkaMessage] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let remaining = deadline - .now
            let messages = try await readAll(topic: topic, timeout: max(remaining, .milliseconds(100)))
            if messages.count >= count || ContinuousClock.now >= deadline { return messages }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func read(client: KafkaClient, topic: String, timeout: Duration) throws(KafkaError) -> [KafkaMessage]
    {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let partitions = try KafkaMetadata.partitionCount(client: client, topic: topic, deadline: deadline)
        var ends: [Int32: Int64] = [:]
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<Int32(partitions) {
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(
                client.handle,
                topic,
                partition,
                &low,
                &high,
                milliseconds(until: deadline)
            )
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: KafkaError.Code(err)) }
            if high > low { ends[partition] = high }
            rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        guard !ends.isEmpty else { return [] }
        let assignErr = rd_kafka_assign(client.handle, list)
        guard assignErr == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: KafkaError.Code(assignErr)) }
        defer { rd_kafka_assign(client.handle, nil) }

        var messages: [KafkaMessage] = []
        var lastError: String?
        while !ends.isEmpty, ContinuousClock.now < deadline {
            guard let raw = rd_kafka_consumer_poll(client.handle, 100) else { continue }
            defer { rd_kafka_message_destroy(raw) }
            let message = raw.pointee
            guard message.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                lastError = String(cString: rd_kafka_err2str(message.err))
                continue
            }
            messages.append(decode(raw))
            if let end = ends[message.partition], message.offset + 1 >= end {
                ends.removeValue(forKey: message.partition)
            }
        }
        if !ends.isEmpty {
            let pending = ends.sorted { $0.key < $1.key }.map { "partition \($0.key) (end \($0.value))" }
                .joined(separator: ", ")
            throw KafkaError(
                code: .timedOut,
                message: "reading \(topic) did not reach its end in time: \(messages.count) records read, "
                    + "still waiting for \(pending)" + (lastError.map { "; last error: \($0)" } ?? "")
            )
        }
        return messages.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    private static func decode(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let message = raw.pointee
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(raw, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        return KafkaMessage(
            topic: String(cString: rd_kafka_topic_name(message.rkt)),
            partition: message.partition,
            offset: message.offset,
            key: message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) },
            value: message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) },
            headers: headers
        )
    }
}
