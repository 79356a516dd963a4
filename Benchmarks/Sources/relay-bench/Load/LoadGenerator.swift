import Foundation
import Histogram
import NIOCore
import NIOPosix
import RelayPrimitives

/// An HTTP/1.1 load generator on keep-alive connections, confined to one event loop.
///
/// - Closed loop (`rate == nil`): every connection sends its next request as soon as the previous
///   answer arrives; latency is measured from sending.
/// - Open loop (`rate` per second): requests are due at fixed intervals whatever the answers do; a due
///   request waits for a free connection, and its latency is measured from when it was due, so a
///   stalled server cannot hide its stalls (no coordinated omission).
final class LoadGenerator: @unchecked Sendable {
    struct Result {
        var completed = 0
        var statuses: [Int: Int] = [:]
        var errors = 0
        var seconds = 0.0
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

        var throughput: Double { seconds > 0 ? Double(completed) / seconds : 0 }
        var non2xx: Int { non2xxStatuses.values.reduce(0, +) + errors }
        /// What the non-2xx answers were, e.g. "503 ×4, closed ×1"; empty when there were none.
        var non2xxBreakdown: String {
            let answers = non2xxStatuses.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            return (answers + (errors > 0 ? ["closed ×\(errors)"] : [])).joined(separator: ", ")
        }
        private var non2xxStatuses: [Int: Int] { statuses.filter { !(200..<300).contains($0.key) } }
        /// Latency percentile in milliseconds.
        func latency(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
    }

    // `@unchecked Sendable`: all state below is touched on `eventLoop` only.
    let eventLoop: any EventLoop
    private var requests: DocutrayRequests
    private let rate: Double?
    private var idle: [Connection] = []
    private var backlog: [NIODeadline] = []
    private var recording = false
    private var running = true
    private var result = Result()
    private var scheduled = 0
    private var openLoopStart = NIODeadline.now()

    /// A closed-loop run's number of requests, when it sends that many and stops.
    private let limit: Int?
    private var sent = 0
    /// Completed once every request of a limited run has its answer (or its connection closed).
    private var allAnswered: EventLoopPromise<Void>?

    init(eventLoop: any EventLoop, requests: DocutrayRequests, rate: Double?, limit: Int? = nil) {
        self.eventLoop = eventLoop
        self.requests = requests
        self.rate = rate
        self.limit = limit
    }

    /// Connects `connections` clients, warms up, then measures for `duration`.
    static func run(
        host: String,
        port: Int,
        requests: DocutrayRequests,
        connections: Int,
        rate: Double?,
        warmup: Duration,
        duration: Duration
    ) async throws -> Result {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let generator = LoadGenerator(eventLoop: eventLoop, requests: requests, rate: rate)
        let channels = try await generator.connect(host: host, port: port, connections: connections)
        try await eventLoop.submit { generator.start() }.get()
        try await Task.sleep(for: warmup)
        let started = try await eventLoop.submit {
            generator.result = Result()
            generator.recording = true
            return ContinuousClock.now
        }.get()
        try await Task.sleep(for: duration)
        let result = try await eventLoop.submit {
            generator.recording = false
            generator.running = false
            var result = generator.result
            let elapsed = ContinuousClock.now - started
            result.seconds = elapsed.seconds
            return result
        }.get()
        for channel in channels { try? await channel.close() }
        return result
    }

    /// Sends exactly `count` requests, closed loop on `connections` connections, and returns once
    /// all are answered: nothing is in flight before or after, so work measured around the call is
    /// the work of these requests. Throws if they are not all answered within `timeout`.
    static func send(
        count: Int,
        host: String,
        port: Int,
        requests: DocutrayRequests,
        connections: Int,
        timeout: TimeAmount = .minutes(10)
    ) async throws -> Result {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let generator = LoadGenerator(eventLoop: eventLoop, requests: requests, rate: nil, limit: count)
        let channels = try await generator.connect(host: host, port: port, connections: connections)
        let started = ContinuousClock.now
        let answered = try await eventLoop.submit { () -> EventLoopFuture<Void> in
            let promise = eventLoop.makePromise(of: Void.self)
            generator.allAnswered = promise
            generator.recording = true
            generator.start()
            eventLoop.scheduleTask(in: timeout) {
                promise.fail(BenchmarkFailure("\(count) requests not all answered in \(timeout)"))
            }
            return promise.futureResult
        }.get()
        try await answered.get()
        for channel in channels { try? await channel.close() }
        return try await eventLoop.submit {
            var result = generator.result
            let elapsed = ContinuousClock.now - started
            result.seconds = elapsed.seconds
            return result
        }.get()
    }

    private func connect(host: String, port: Int, connections: Int) async throws -> [any Channel] {
        var channels: [any Channel] = []
        for _ in 0..<connections {
            let channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { () -> any Channel in
                        try channel.pipeline.syncOperations.addHandler(Connection(generator: self))
                        return channel
                    }
                }
            channels.append(channel)
        }
        return channels
    }

    private func start() {
        if let rate {
            openLoopStart = .now()
            eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { task in
                guard self.running else {
                    task.cancel()
                    return
                }
                self.dispatchDue(rate: rate)
            }
        } else {
            let ready = idle
            idle.removeAll()
            for connection in ready { send(on: connection, dueAt: nil) }
        }
    }

    private func dispatchDue(rate: Double) {
        let elapsed = Double((NIODeadline.now() - openLoopStart).nanoseconds) / 1e9
        let due = Int(elapsed * rate)
        while scheduled < due {
            scheduled += 1
            backlog.append(openLoopStart + .nanoseconds(Int64(Double(scheduled) / rate * 1e9)))
        }
        while !backlog.isEmpty, let connection = idle.popLast() {
            send(on: connection, dueAt: backlog.removeFirst())
        }
    }

    func connectionReady(_ connection: Connection) {
        idle.append(connection)
    }

    private func send(on connection: Connection, dueAt: NIODeadline?) {
        if let limit {
            guard sent < limit else { return }
            sent += 1
        }
        connection.send(head: requests.nextHead(), body: requests.body, startedAt: dueAt ?? .now())
    }

    func completed(_ connection: Connection, status: Int?, startedAt: NIODeadline) {
        if recording {
            if let status {
                result.completed += 1
                result.statuses[status, default: 0] += 1
                let micros = max(1, (NIODeadline.now() - startedAt).nanoseconds / 1000)
                _ = result.histogram.record(UInt64(micros))
            } else {
                result.errors += 1
            }
            if let limit, result.completed + result.errors == limit {
                recording = false
                allAnswered?.succeed()
            }
        }
        guard running, status != nil else { return }
        if rate == nil {
            send(on: connection, dueAt: nil)
        } else if !backlog.isEmpty {
            send(on: connection, dueAt: backlog.removeFirst())
        } else {
            idle.append(connection)
        }
    }

    /// One keep-alive connection: writes a request, reads one answer (status line, headers,
    /// Content-Length body), reports it.
    final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let generator: LoadGenerator
        private var context: ChannelHandlerContext?
        private var received = ByteBuffer()
        private var startedAt = NIODeadline.now()

        init(generator: LoadGenerator) {
            self.generator = generator
        }

        func handlerAdded(context: ChannelHandlerContext) {
            self.context = context
            generator.connectionReady(self)
        }

        func send(head: ByteBuffer, body: ByteBuffer, startedAt: NIODeadline) {
            guard let context else { return }
            self.startedAt = startedAt
            context.write(wrapOutboundOut(head), promise: nil)
            context.writeAndFlush(wrapOutboundOut(body), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let status = parseOneResponse() {
                generator.completed(self, status: status, startedAt: startedAt)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            generator.completed(self, status: nil, startedAt: startedAt)
        }

        /// Consumes one complete response from `received`; returns its status.
        private func parseOneResponse() -> Int? {
            let view = received.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return nil }
            let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            guard let statusLine = lines.first, statusLine.count >= 12,
                let status = Int(statusLine.dropFirst(9).prefix(3))
            else {
                return nil
            }
            var length = 0
            for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            let total = end.upperBound - view.startIndex + length
            guard received.readableBytes >= total else { return nil }
            received.moveReaderIndex(forwardBy: total)
            received.discardReadBytes()
            return status
        }
    }
}
