import NIOCore
import NIOPosix
import RelayKafka

/// Continues a request waiting for Kafka's acknowledgement on the event loop it runs on: whoever
/// handles a batch of delivery reports hands over every acknowledgement for that loop in one task,
/// so the loop wakes once per batch and the answer is written without a thread switch. The
/// producer also handles its reports on one of these (``reportLoop``), and that loop's own
/// waiters then continue at once.
final class EventLoopResumer: DeliveryResumer {
    private let loop: any EventLoop

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    func execute(_ work: @escaping @Sendable () -> Void) {
        loop.execute(work)
    }

    var isCurrent: Bool { loop.inEventLoop }

    /// One resumer per event loop of the process's loops (where the HTTP server and, see
    /// ``ProcessTuning/runTasksOnEventLoops()``, every task runs).
    private static let resumers: [ObjectIdentifier: EventLoopResumer] = {
        var resumers: [ObjectIdentifier: EventLoopResumer] = [:]
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            resumers[ObjectIdentifier(loop)] = EventLoopResumer(loop: loop)
        }
        return resumers
    }()

    /// Where the producer handles delivery reports: one of the loops, the same for the whole run.
    static var reportLoop: EventLoopResumer {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return resumers[ObjectIdentifier(loop)] ?? EventLoopResumer(loop: loop)
    }

    /// The resumer of the event loop running the calling task, if it runs on one.
    static var current: EventLoopResumer? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return nil }
        return resumers[ObjectIdentifier(loop)] ?? EventLoopResumer(loop: loop)
    }
}
