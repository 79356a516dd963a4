import RelayPrimitives
import RetryBuffer

#if canImport(Glibc)
    import Glibc
#endif

/// A file system in memory that behaves like a disk across a power cut: file contents are durable
/// only up to their last `synchronize()`, names only after `synchronizeDirectory`. ``crash(tearing:)``
/// drops what was not durable (keeping a random part of unsynced appends, as a torn write would),
/// and every handle opened before the crash stops working. Writes can be made to fail (disk full).
public final class InMemoryFileSystem: BufferFileSystem {
    final class Node: @unchecked Sendable {
        var bytes: [UInt8] = []
        var durable: [UInt8] = []
    }

    struct State {
        var names: [String: Node] = [:]
        var durableNames: [String: Node] = [:]
        var directories: Set<String> = []
        var locks: Set<String> = []
        var generation = 0
        /// Writes fail with this error number while set.
        var failingWrites: Int32?
        /// Once this many more operations ran, every operation fails (a crash mid-way).
        var operationsUntilCrash: Int?
        var operations = 0
        var synchronizations = 0
        /// The most bytes one read asked for, and all bytes read, since the last reset.
        var largestRead = 0
        var bytesRead = 0
    }

    let state = Locked(State())

    public init() {}

    /// Makes every following write fail with `code` (e.g. `ENOSPC`), or stops failing with `nil`.
    public func failWrites(with code: Int32?) {
        state.withLock { $0.failingWrites = code }
    }

    /// After `count` more operations, every operation fails with `EIO`, as if power was cut.
    public func failAll(afterOperations count: Int) {
        state.withLock { $0.operationsUntilCrash = count }
    }

    /// Simulates a power cut: unsynced data is dropped, except that each file keeps a random part of
    /// its unsynced tail when `tearing` is set. Handles opened before are dead afterwards.
    public func crash<Generator: RandomNumberGenerator>(tearing: Bool, using generator: inout Generator) {
        state.withLock { state in
            state.names = state.durableNames
            var seen = Set<ObjectIdentifier>()
            for node in state.names.values where seen.insert(ObjectIdentifier(node)).inserted {
                var survived = node.durable
                if tearing, node.bytes.count > node.durable.count, node.bytes.starts(with: node.durable) {
                    let extra = Int.random(in: 0...(node.bytes.count - node.durable.count), using: &generator)
                    survived = Array(node.bytes.prefix(node.durable.count + extra))
                }
                node.bytes = survived
                node.durable = survived
            }
            state.locks.removeAll()
            state.generation += 1
            state.operationsUntilCrash = nil
            state.failingWrites = nil
        }
    }

    /// Simulates a power cut without tearing.
    public func crash() {
        var generator = SystemRandomNumberGenerator()
        crash(tearing: false, using: &generator)
    }

    /// How many file `synchronize()` calls succeeded (to observe group commit).
    public var synchronizations: Int { state.withLock { $0.synchronizations } }

    /// The most bytes one read has asked for, and all bytes read, since ``resetReadCounts()``.
    public var reads: (largest: Int, total: Int) { state.withLock { ($0.largestRead, $0.bytesRead) } }

    public func resetReadCounts() {
        state.withLock {
            $0.largestRead = 0
            $0.bytesRead = 0
        }
    }

    /// The current bytes of a file, for tests that damage it on purpose.
    public func contents(of path: String) -> [UInt8]? {
        state.withLock { $0.names[path]?.bytes }
    }

    /// Replaces a file's bytes (durably), for tests that damage it on purpose.
    public func replaceContents(of path: String, with bytes: [UInt8]) {
        state.withLock { state in
            state.names[path]?.bytes = bytes
            state.names[path]?.durable = bytes
        }
    }

    /// Paths of the files that exist now.
    public var paths: [String] { state.withLock { Array($0.names.keys).sorted() } }

    // MARK: BufferFileSystem

    func operation(generation: Int? = nil, write: Bool = false, path: String) throws(FileIOError) {
        let failure: Int32? = state.withLock { state in
            if let generation, generation != state.generation { return EIO }
            state.operations += 1
            if let remaining = state.operationsUntilCrash {
                if remaining <= 0 { return EIO }
                state.operationsUntilCrash = remaining - 1
            }
            if write, let code = state.failingWrites { return code }
            return nil
        }
        if let failure { throw FileIOError(write ? "write" : "operation", path: path, code: failure) }
    }

    public func createDirectory(_ path: String) throws(FileIOError) {
        try operation(path: path)
        state.withLock { _ = $0.directories.insert(path) }
    }

    public func contents(ofDirectory path: String) throws(FileIOError) -> [String] {
        try operation(path: path)
        let prefix = path + "/"
        return state.withLock { state in
            state.names.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }.map {
                String($0.dropFirst(prefix.count))
            }
        }
    }

    public func fileExists(_ path: String) -> Bool {
        state.withLock { $0.names[path] != nil }
    }

    public func open(_ path: String, create: Bool) throws(FileIOError) -> any BufferFile {
        try operation(path: path)
        let result = state.withLock { state -> (Node, Int)? in
            if let node = state.names[path] { return (node, state.generation) }
            guard create else { return nil }
            let node = Node()
            state.names[path] = node
            return (node, state.generation)
        }
        guard let (node, generation) = result else { throw FileIOError("open", path: path, code: ENOENT) }
        return InMemoryFile(fileSystem: self, node: node, path: path, generation: generation)
    }

    public func rename(_ source: String, to destination: String) throws(FileIOError) {
        try operation(path: source)
        let moved = state.withLock { state -> Bool in
            guard let node = state.names.removeValue(forKey: source) else { return false }
            state.names[destination] = node
            return true
        }
        if !moved { throw FileIOError("rename", path: source, code: ENOENT) }
    }

    public func remove(_ path: String) throws(FileIOError) {
        try operation(path: path)
        state.withLock { _ = $0.names.removeValue(forKey: path) }
    }

    public func synchronizeDirectory(_ path: String) throws(FileIOError) {
        try operation(path: path)
        let prefix = path + "/"
        state.withLock { state in
            func inDirectory(_ name: String) -> Bool {
                name.hasPrefix(prefix) && !name.dropFirst(prefix.count).contains("/")
            }
            state.durableNames = state.durableNames.filter { !inDirectory($0.key) }
            for (name, node) in state.names where inDirectory(name) { state.durableNames[name] = node }
        }
    }

    public func lock(_ path: String) throws(FileIOError) -> any BufferLock {
        try operation(path: path)
        let taken = state.withLock { state -> Bool in
            if state.names[path] == nil { state.names[path] = Node() }
            return !state.locks.insert(path).inserted
        }
        if taken { throw FileIOError("lock", path: path, code: EWOULDBLOCK) }
        return InMemoryLock(fileSystem: self, path: path)
    }
}

private final class InMemoryFile: BufferFile {
    let fileSystem: InMemoryFileSystem
    let node: InMemoryFileSystem.Node
    let path: String
    let generation: Int

    init(fileSystem: InMemoryFileSystem, node: InMemoryFileSystem.Node, path: String, generation: Int) {
        self.fileSystem = fileSystem
        self.node = node
        self.path = path
        self.generation = generation
    }

    var size: Int {
        get throws(FileIOError) {
            try fileSystem.operation(generation: generation, path: path)
            return fileSystem.state.withLock { _ in node.bytes.count }
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {
        try fileSystem.operation(generation: generation, write: true, path: path)
        fileSystem.state.withLock { _ in
            if node.bytes.count < offset { node.bytes += [UInt8](repeating: 0, count: offset - node.bytes.count) }
            let end = offset + bytes.count
            if node.bytes.count < end { node.bytes += [UInt8](repeating: 0, count: end - node.bytes.count) }
            node.bytes.replaceSubrange(offset..<end, with: bytes)
        }
    }

    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
        try fileSystem.operation(generation: generation, path: path)
        return fileSystem.state.withLock { state in
            state.largestRead = max(state.largestRead, count)
            guard offset < node.bytes.count else { return [] }
            let bytes = Array(node.bytes[offset..<min(node.bytes.count, offset + count)])
            state.bytesRead += bytes.count
            return bytes
        }
    }

    func synchronize() throws(FileIOError) {
        try fileSystem.operation(generation: generation, path: path)
        fileSystem.state.withLock { state in
            node.durable = node.bytes
            state.synchronizations += 1
        }
    }

    func truncate(to size: Int) throws(FileIOError) {
        try fileSystem.operation(generation: generation, path: path)
        fileSystem.state.withLock { _ in node.bytes = Array(node.bytes.prefix(size)) }
    }
}

private struct InMemoryLock: BufferLock {
    let fileSystem: InMemoryFileSystem
    let path: String

    func release() {
        fileSystem.state.withLock { _ = $0.locks.remove(path) }
    }
}
