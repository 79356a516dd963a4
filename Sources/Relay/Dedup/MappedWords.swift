#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Zero-filled 64-bit words in a memory mapping of their own, unmapped when the last reference goes.
///
/// The dedup table's generations are megabytes each at high rates and live for minutes. Below
/// glibc's mmap threshold (pinned at 8 MiB, see ``ProcessTuning/fixMallocThreshold()``) they would
/// come from malloc's heap, where one freed between younger blocks leaves a hole the heap cannot
/// give back, and the resident size creeps up. A mapping of their own is returned whole.
final class MappedWords: @unchecked Sendable {
    let count: Int
    private let base: UnsafeMutablePointer<UInt64>
    private let byteCount: Int

    /// - Parameter count: the number of words, all zero.
    /// - Returns: `nil` when the kernel refuses the mapping (out of memory, or a limit on mappings):
    ///   the dedup table then refuses the delivery with an answer the sender retries, never a crash.
    init?(count: Int) {
        self.count = count
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        byteCount = max(page, (count * MemoryLayout<UInt64>.stride + page - 1) / page * page)
        let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { return nil }
        base = mapping.bindMemory(to: UInt64.self, capacity: byteCount / MemoryLayout<UInt64>.stride)
    }

    deinit {
        munmap(base, byteCount)
    }

    subscript(index: Int) -> UInt64 {
        get {
            precondition(index >= 0 && index < count, "word index out of range")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "word index out of range")
            base[index] = newValue
        }
    }

    /// A copy in a mapping of its own, or `nil` when no mapping can be had.
    func copy() -> MappedWords? {
        guard let copy = MappedWords(count: count) else { return nil }
        copy.base.update(from: base, count: count)
        return copy
    }
}
