import CSystemShims
import RelayPrimitives

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Large batches of frames written to the device without passing through the page cache.
///
/// A plain write copies every byte into page-cache pages the kernel must first find: with 16 KiB
/// bodies that copy was 14% of the relay's CPU, with 1 MiB bodies 40% (on a virtual machine that
/// hands free memory back to its host, each fresh page also costs the host a fault; overwriting
/// cached pages is ten times faster than filling new ones there). With `O_DIRECT` the device reads
/// the bytes from one reused, aligned buffer instead. Only whole aligned blocks go that way; the
/// unaligned start and end of a batch are written as usual, so after each batch the file's size and
/// bytes are what plain writes would have left, reads see them, and `fsync` covers both.
enum DirectWrites {
    /// Batches smaller than this go through the page cache: copying them is cheap, and a direct
    /// write waits for the device.
    static let threshold = 64 * 1024
    /// Offsets, lengths and memory of direct writes are multiples of this; every common logical
    /// block size (512 B, 4 KiB) divides it.
    static let alignment = 4096
    /// The reused buffer: a larger batch is written in pieces of this size.
    static let scratchSize = 4 << 20

    /// The one buffer direct writes are assembled in, allocated at the first large batch (statics
    /// are lazy) and then kept: a buffer allocated per batch would cost fresh pages each time, the
    /// cost this avoids. Only the buffer's writer thread writes, so the lock is never contended.
    private final class Scratch: @unchecked Sendable {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchSize, alignment: alignment)
        let lock = Locked(())
    }

    private static let scratch = Scratch()

    /// How a direct write ended.
    enum Outcome: Sendable {
        case written
        /// The file system refused direct I/O, or wrote less than asked: the caller writes the
        /// whole batch through the page cache instead (where a real error, e.g. `ENOSPC`, shows).
        case notWritten(unsupported: Bool)
        case failed(errno: Int32)
    }

    /// Writes `parts` at `offset`: whole blocks through `direct`, the unaligned start and end
    /// through `buffered`.
    ///
    /// The start goes through the page cache because the block it shares with the file's previous
    /// end is in the cache, dirty: a direct write covering that block makes the kernel first write
    /// the page back and wait for the device (a synchronous 4 KiB write per batch, 3% of the relay's
    /// CPU with 16 KiB bodies, and the writer stalled meanwhile), then drop it. So the direct part
    /// begins at the first block boundary after `offset`, where the cache holds nothing of a file
    /// that only grows.
    ///
    /// - Returns: how it ended, and how many bytes went past the cache.
    static func write(
        parts: [[UInt8]],
        at offset: Int,
        direct: Int32,
        buffered: Int32
    ) -> (outcome: Outcome, directBytes: Int) {
        scratch.lock.withLock { _ in
            let scratch = Self.scratch.buffer
            // `scratch[..<filled]` holds the bytes that go to `position` and on.
            var filled = 0
            var position = offset
            var directBytes = 0
            // The bytes before the first block boundary, still to gather; then 0 for good.
            var lead = (alignment - offset % alignment) % alignment
            var outcome = Outcome.written
            func add(_ bytes: UnsafeRawBufferPointer) {
                var next = 0
                while next < bytes.count, case .written = outcome {
                    let isDirect = lead == 0
                    let limit = isDirect ? scratch.count : lead
                    let count = min(bytes.count - next, limit - filled)
                    (scratch.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + next, byteCount: count)
                    filled += count
                    next += count
                    guard filled == limit else { continue }
                    let target = isDirect ? direct : buffered
                    outcome = writeAll(target, scratch.baseAddress!, count: filled, at: position, direct: isDirect)
                    if isDirect { directBytes += filled }
                    position += filled
                    filled = 0
                    lead = 0
                }
            }
            for part in parts { part.withUnsafeBytes(add) }
            guard case .written = outcome else { return (outcome, directBytes) }
            // With the lead unfinished, `filled` is under one block and `whole` is 0.
            let whole = filled - filled % alignment
            if whole > 0 {
                outcome = writeAll(direct, scratch.baseAddress!, count: whole, at: position, direct: true)
                guard case .written = outcome else { return (outcome, directBytes) }
                directBytes += whole
            }
            guard filled > whole else { return (.written, directBytes) }
            let rest = filled - whole
            let end = writeAll(buffered, scratch.baseAddress! + whole, count: rest, at: position + whole, direct: false)
            return (end, directBytes)
        }
    }

    private static func writeAll(
        _ descriptor: Int32,
        _ bytes: UnsafeMutableRawPointer,
        count: Int,
        at offset: Int,
        direct: Bool
    ) -> Outcome {
        var done = 0
        while done < count {
            let result = pwrite(descriptor, bytes + done, count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                if direct && errno == EINVAL { return .notWritten(unsupported: true) }
                return .failed(errno: errno)
            }
            // A short direct write leaves an unaligned remainder that cannot follow it directly.
            if direct && result < count - done { return .notWritten(unsupported: false) }
            done += result
        }
        return .written
    }

    /// A second descriptor for direct writes to the file behind `descriptor`, or `nil` where the
    /// file system or the system has none.
    static func reopen(_ descriptor: Int32) -> Int32? {
        let direct = relay_reopen_for_direct_writes(descriptor)
        return direct >= 0 ? direct : nil
    }
}
