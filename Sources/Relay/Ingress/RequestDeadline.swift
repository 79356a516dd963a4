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

    final class ByteClock: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let limit: TimeAmount
        private let logger: Logger
        private var deadline: Scheduled<Void>?

        init(limit: TimeAmount, logger: Logger) {
            self.limit = limit
            self.logger = logger
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if deadline == nil {
                let channel = context.channel
                let logger = logger
                let seconds = limit.nanoseconds / 1_000_000_000
                deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limit) {
                    logger.notice(
                        "Closed a connection that did not send its request in time",
                        metadata: [
                            LogKey.reason: "request_timeout \(seconds)s",
                            "remote": "\(channel.remoteAddress?.description ?? "unknown")",
                        ]
                    )
                    channel.close(promise: nil)
                }
            }
            context.fireChannelRead(data)
        }

        func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
            guard event is RequestRead else {
                context.triggerUserOutboundEvent(event, promise: promise)
                return
            }
            deadline?.cancel()
            deadline = nil
            promise?.succeed()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            deadline?.cancel()
            deadline = nil
        }

        func channelInactive(context: ChannelHandlerContext) {
            deadline?.cancel()
            deadline = nil
            context.fireChannelInactive()
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
