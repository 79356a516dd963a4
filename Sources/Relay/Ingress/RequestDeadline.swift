import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Cuts off clients that trickle a request (slowloris): from the first byte of a request to its
/// last, at most `limit` may pass, however steadily bytes arrive. The idle timeout alone cannot do
/// this, since every trickled byte resets it.
///
/// Two handlers share the work. ``ByteClock`` sits before the HTTP decoder and sees raw bytes: it arms
/// on the first byte of a request. ``EndOfRequest`` sits after the decoder and sees requests: when one
/// has been read completely it tells the timer, through an outbound user event, to disarm.
enum RequestDeadline {
    /// A whole request (head, body and end) has been read.
    struct RequestRead: Sendable {}

    /// Keeps one timer per connection rather than one per request: scheduling and cancelling a task
    /// for every request of a keep-alive connection cost about five allocations each time. The timer
    /// is armed on a request's first byte when none is pending; when it fires it closes the connection
    /// if the request in progress is over time, re-arms for that request's deadline if it is not, and
    /// stays off while the connection is idle between requests.
    final class ByteClock: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let limit: TimeAmount
        private let logger: Logger
        /// When the first byte of the request being read arrived; `nil` between requests.
        private var requestStarted: NIODeadline?
        private var timer: Scheduled<Void>?

        init(limit: TimeAmount, logger: Logger) {
            self.limit = limit
            self.logger = logger
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if requestStarted == nil {
                let now = NIODeadline.now()
                requestStarted = now
                if timer == nil { arm(context: context, at: now + limit) }
            }
            context.fireChannelRead(data)
        }

        private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.timerFired(context: context)
            }
        }

        private func timerFired(context: ChannelHandlerContext) {
            timer = nil
            guard let started = requestStarted else { return }
            let deadline = started + limit
            guard NIODeadline.now() >= deadline else {
                arm(context: context, at: deadline)
                return
            }
            let channel = context.channel
            logger.notice(
                "Closed a connection that did not send its request in time",
                metadata: [
                    LogKey.reason: "request_timeout \(limit.nanoseconds / 1_000_000_000)s",
                    "remote": "\(channel.remoteAddress?.description ?? "unknown")",
                ]
            )
            channel.close(promise: nil)
        }

        func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
            guard event is RequestRead else {
                context.triggerUserOutboundEvent(event, promise: promise)
                return
            }
            requestStarted = nil
            promise?.succeed()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            stop()
        }

        func channelInactive(context: ChannelHandlerContext) {
            stop()
            context.fireChannelInactive()
        }

        private func stop() {
            timer?.cancel()
            timer = nil
            requestStarted = nil
        }
    }

    final class EndOfRequest: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .end = unwrapInboundIn(data) {
                context.triggerUserOutboundEvent(RequestRead(), promise: nil)
            }
            context.fireChannelRead(data)
        }
    }

    /// HTTP/1.1 with the deadline: the timer goes in before the HTTP handlers the wrapped channel
    /// adds (after TLS, when the listener speaks TLS).
    struct GuardedChannel: ServerChildChannel {
        let base: HTTP1Channel
        let limit: TimeAmount

        func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteClock(limit: limit, logger: logger))
            }
            .flatMap { base.setup(channel: channel, logger: logger) }
        }

        func handle(value: HTTP1Channel.Value, logger: Logger) async {
            await base.handle(value: value, logger: logger)
        }
    }
}
