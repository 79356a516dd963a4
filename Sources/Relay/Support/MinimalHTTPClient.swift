import Foundation
import NIOCore
import NIOPosix

/// An HTTP/1.1 answer as read off the wire.
public struct HTTPAnswer: Sendable {
    public var status: Int
    /// Header names lowercased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first header with this (case-insensitive) name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name.lowercased() }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A deliberately small HTTP/1.1 client over a real TCP connection, one connection per request:
/// what the CLI needs to call the admin API, and what tests need to send exactly the bytes they
/// choose, malformed or hostile ones included.
public enum MinimalHTTPClient {
    /// Why a request got no parsable answer.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Sends a request and reads the answer.
    public static func send(
        host: String = "127.0.0.1",
        port: Int,
        method: String = "POST",
        path: String,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> HTTPAnswer {
        var head = "\(method) \(path) HTTP/1.1\r\nhost: \(host):\(port)\r\nconnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
            head += "content-length: \(body.count)\r\n"
        }
        head += "\r\n"
        let raw = try await exchange(host: host, port: port, bytes: Array(head.utf8) + body, timeout: timeout)
        guard let response = parse(raw) else {
            throw Failure(
                description: "no HTTP answer (\(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self)))"
            )
        }
        return response
    }

    /// Writes `bytes`, then reads until the server closes the connection or `timeout` passes.
    package static func exchange(
        host: String = "127.0.0.1",
        port: Int,
        bytes: [UInt8],
        timeout: Duration = .seconds(30)
    ) async throws -> [UInt8] {
        try await exchange(host: host, port: port, pieces: [bytes], pause: .zero, timeout: timeout)
    }

    /// Writes `pieces` with `pause` between them (a slow client), reading meanwhile; returns what
    /// was read when a complete answer arrived or the server closed (or reset) the connection.
    /// Throws when neither happened within `timeout`.
    package static func exchange(
        host: String = "127.0.0.1",
        port: Int,
        pieces: [[UInt8]],
        pause: Duration,
        timeout: Duration = .seconds(30)
    ) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    let writer = Task {
                        for (index, piece) in pieces.enumerated() {
                            if index > 0 { try await Task.sleep(for: pause) }
                            try await outbound.write(ByteBuffer(bytes: piece))
                        }
                    }
                    defer { writer.cancel() }
                    var received: [UInt8] = []
                    do {
                        for try await var chunk in inbound {
                            received += chunk.readBytes(length: chunk.readableBytes) ?? []
                            if let response = parse(received), isComplete(response, raw: received) { break }
                        }
                    } catch {
                        // A reset is how a server may refuse bytes it will not read: the answer ends here.
                    }
                    return received
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let received = first else {
                try? await channel.channel.close()
                throw Failure(description: "no complete answer within \(timeout)")
            }
            return received
        }
    }

    private static func isComplete(_ response: HTTPAnswer, raw: [UInt8]) -> Bool {
        guard let length = response.header("content-length").flatMap(Int.init) else { return false }
        return response.body.count >= length
    }

    /// Parses a status line, headers and a Content-Length (or close-delimited) body.
    package static func parse(_ raw: [UInt8]) -> HTTPAnswer? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = raw.firstRange(of: separator) else { return nil }
        let headText = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                line[..<colon].lowercased(),
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        var body = Array(raw[end.upperBound...])
        if let length = headers.first(where: { $0.0 == "content-length" }).flatMap({ Int($0.1) }), body.count > length {
            body = Array(body.prefix(length))
        }
        return HTTPAnswer(status: status, headers: headers, body: body)
    }
}
