import Foundation
import HTTPTypes
import Hummingbird
import RelayKafka
import RelayPrimitives
import RetryBuffer
import SenderKit

/// `/readyz`: the relay can make a new event durable, because Kafka is reachable or the buffer can
/// take it. Not ready when both fail, so an orchestrator stops sending traffic that would be
/// answered 503 anyway, and not ready while Kafka refuses the relay's credentials or TLS.
struct Readiness: Sendable {
    let buffer: RetryBuffer
    let producer: KafkaProducer
    let clock: any WallClock
    /// Room the buffer must have left to count as able to take an event (the largest body).
    let headroom: Int

    /// A failed disk write keeps the buffer "not writable" this long.
    static let writeFailureMemory: Int64 = 10_000

    struct Report {
        var ready: Bool
        var kafka: String
    }

    func evaluate() -> Report {
        let statistics = buffer.statistics
        let now = clock.unixMilliseconds
        let recentFailure = statistics.lastWriteFailureAt.map { now - $0 < Self.writeFailureMemory } ?? false
        let hasRoom = statistics.totalBytes + headroom <= buffer.configuration.maximumSize
        let writable = hasRoom && !recentFailure
        let connectivity = producer.connectivity
        let kafka: String
        switch connectivity {
        case .reachable: kafka = "reachable"
        case .unreachable: kafka = "unreachable"
        case .refused: kafka = "refused"
        case .unknown: kafka = "unknown"
        }
        // Refused credentials or TLS do not pass by themselves: a replica rolled out with them
        // stays out of rotation (its buffer still takes what reaches it), so a bad secret stops a
        // rolling update instead of filling every replica's buffer.
        let ready = !connectivity.isRefused && (connectivity == .reachable || writable)
        return Report(ready: ready, kafka: kafka)
    }

    /// Only ready or not: the answer is open to anyone who reaches a listener (the webhook port
    /// serves it too), so Kafka's state and the buffer's size stay behind the admin token
    /// (`/admin/overview`, `/metrics`).
    var response: Response {
        let report = evaluate()
        let body = JSONText.object(["ready": .bool(report.ready)])
        return Response(
            status: report.ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
