import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// The whole body in one array, each chunk copied once out of NIO's buffers into an array
    /// reserved from `Content-Length`. (NIO's `collect(upTo:)` gathers the chunks of a large body
    /// into a buffer that grows by doubling, and reading that buffer into an array copies it again.)
    ///
    /// - Parameter admit: asked for each chunk's size before it is kept (a body without
    ///   `Content-Length` takes its share of a memory budget as it arrives); `false` stops the read.
    /// - Throws: `NIOTooManyBytesError` once more than `limit` bytes arrive; ``ChunkRefused`` when
    ///   `admit` refuses a chunk; the body stream's own error when the client goes away or is cut off
    ///   before sending it all.
    public func bodyBytes(upTo limit: Int, admit: (Int) -> Bool = { _ in true }) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        if let length = headers.value(of: .contentLength).flatMap({ Int($0) }), (0...limit).contains(length) {
            bytes.reserveCapacity(length)
        }
        for try await chunk in body {
            guard chunk.readableBytes <= limit - bytes.count else { throw NIOTooManyBytesError(maxBytes: limit) }
            guard admit(chunk.readableBytes) else { throw ChunkRefused() }
            chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// A chunk of the body was refused by the `admit` check of ``bodyBytes(upTo:admit:)``.
    public struct ChunkRefused: Error {}
}
