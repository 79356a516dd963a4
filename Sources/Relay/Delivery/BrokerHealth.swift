import RelayKafka
import RelayPrimitives

/// Whether Kafka is known to be down, judged from recent publish outcomes and librdkafka's own
/// connection events. While it is, requests skip the publish wait and go straight to the buffer,
/// so answers stay fast during an outage; the retrier's deliveries bring it back.
final class BrokerHealth: Sendable {
    private struct State {
        var lastFailure: ContinuousClock.Instant?
        var lastSuccess: ContinuousClock.Instant?
    }

    private let state = Locked(State())
    private let publisher: any EventPublisher
    /// How long one failure keeps Kafka "down" without news; then a request probes it again.
    private let memory: Duration

    init(publisher: any EventPublisher, memory: Duration = .seconds(5)) {
        self.publisher = publisher
        self.memory = memory
    }

    func recordSuccess() {
        state.withLock { $0.lastSuccess = .now }
    }

    func recordFailure() {
        state.withLock { $0.lastFailure = .now }
    }

    /// True after a recent failure that no success has followed, or while librdkafka reports every
    /// broker down or a refused connection.
    var isKnownDown: Bool {
        switch publisher.connectivity {
        case .unreachable, .refused: return true
        case .reachable, .unknown: break
        }
        return state.withLock { state in
            guard let failure = state.lastFailure, ContinuousClock.now - failure < memory else { return false }
            return (state.lastSuccess.map { $0 < failure }) ?? true
        }
    }
}
