import RelayPrimitives
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed file operation, with the system's error number (e.g. `ENOSPC`).
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(_ operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// The device is full (`ENOSPC`) or over quota (`EDQUOT`).
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }

    /// The file does not exist (`ENOENT`).
    public var isMissing: Bool { code == ENOENT }

    /// The file exists already (`EEXIST`).
    public var isExisting: Bool { code == EEXIST }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The file operations the buffer needs. Real use goes to POSIX; tests substitute an in-memory file
/// system that can fail writes (disk full) and lose unsynced bytes (a crash).
public protocol BufferFileSystem: Sendable {
    func createDirectory(_ path: String) throws(FileIOError)
    /// Creates a folder inside the buffer directory (`quarantine/`, `seen/`) if it does not exist;
    /// one that is a symbolic link is refused, so nothing is written through it.
    func createSubdirectory(_ path: String) throws(FileIOError)
    /// Names (not paths) of the entries of a directory.
    func contents(ofDirectory path: String) throws(FileIOError) -> [String]
    func fileExists(_ path: String) -> Bool
    /// Opens a file for reading and writing, creating it if asked.
    func open(_ path: String, create: Bool) throws(FileIOError) -> any BufferFile
    /// Atomically renames a file (POSIX `rename`).
    func rename(_ source: String, to destination: String) throws(FileIOError)
    func remove(_ path: String) throws(FileIOError)
    /// Makes creations, renames and removals in a directory durable.
    func synchronizeDirectory(_ path: String) throws(FileIOError)
    /// Takes an exclusive lock that is released when the process ends; fails if another holds it.
    func lock(_ path: String) throws(FileIOError) -> any BufferLock

    /// Creates a file that must not exist yet (`O_EXCL`): a planted file or link is refused, never
    /// written through.
    func createNew(_ path: String) throws(FileIOError) -> any BufferFile
    /// Opens an existing file for reading only.
    func openForReading(_ path: String) throws(FileIOError) -> any BufferFile
    /// A lock that readers share and that excludes ``lock(_:)``, taken without creating or writing
    /// the lock file (none is needed when it does not exist: no relay has the directory).
    func sharedLock(_ path: String) throws(FileIOError) -> any BufferLock
    /// Refuses a buffer directory that belongs to another user (not this one, not root): files
    /// planted in it could point a privileged process's writes elsewhere. One of this user's own is
    /// made private (`0700`): it holds event bodies.
    func secure(directory path: String) throws(FileIOError)
}

extension BufferFileSystem {
    public func createSubdirectory(_ path: String) throws(FileIOError) {
        try createDirectory(path)
    }

    public func createNew(_ path: String) throws(FileIOError) -> any BufferFile {
        guard !fileExists(path) else { throw FileIOError("create", path: path, code: EEXIST) }
        return try open(path, create: true)
    }

    public func openForReading(_ path: String) throws(FileIOError) -> any BufferFile {
        guard fileExists(path) else { throw FileIOError("open", path: path, code: ENOENT) }
        return try open(path, create: false)
    }

    public func sharedLock(_ path: String) throws(FileIOError) -> any BufferLock {
        try lock(path)
    }

    public func secure(directory path: String) throws(FileIOError) {}
}

/// An open file; it is closed when the last reference goes away.
public protocol BufferFile: AnyObject, Sendable {
    var size: Int { get throws(FileIOError) }
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError)
    /// Writes the parts one after the other from `offset`, as one write where the system allows.
    func write(gathering parts: [[UInt8]], at offset: Int) throws(FileIOError)
    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8]
    /// Makes everything written so far durable (`fsync`).
    func synchronize() throws(FileIOError)
    func truncate(to size: Int) throws(FileIOError)
}

extension BufferFile {
    public func write(gathering parts: [[UInt8]], at offset: Int) throws(FileIOError) {
        try write(parts.flatMap { $0 }, at: offset)
    }
}

/// A held directory lock.
public protocol BufferLock: Sendable {
    func release()
}

/// The real file system.
public struct POSIXFileSystem: BufferFileSystem {
    public init() {}

    /// Files are created `0600` and directories `0700`: the buffer holds event bodies.
    static let fileMode: mode_t = 0o600
    static let directoryMode: mode_t = 0o700

    public func createDirectory(_ path: String) throws(FileIOError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, Self.directoryMode) != 0, errno != EEXIST {
                throw FileIOError("mkdir", path: built, code: errno)
            }
        }
    }

    public func createSubdirectory(_ path: String) throws(FileIOError) {
        if mkdir(path, Self.directoryMode) != 0, errno != EEXIST { throw FileIOError("mkdir", path: path, code: errno) }
        // It must be a directory, not a link to somewhere else (`quarantine -> /root/.ssh`).
        var status = stat()
        guard lstat(path, &status) == 0 else { throw FileIOError("lstat", path: path, code: errno) }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw FileIOError("mkdir", path: path, code: ENOTDIR) }
    }

    /// The configured buffer directory may itself be a link (the operator chose it); what it points
    /// at is checked.
    public func secure(directory path: String) throws(FileIOError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw FileIOError("stat", path: path, code: errno) }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw FileIOError("open", path: path, code: ENOTDIR) }
        // Owned by this user, or by root (a volume's mount point): no one else can plant files in it.
        guard status.st_uid == geteuid() || status.st_uid == 0 else {
            throw FileIOError("owner", path: path, code: EPERM)
        }
        if status.st_uid == geteuid(), status.st_mode & 0o077 != 0, chmod(path, Self.directoryMode) != 0 {
            throw FileIOError("chmod", path: path, code: errno)
        }
    }

    public func contents(ofDirectory path: String) throws(FileIOError) -> [String] {
        guard let directory = opendir(path) else { throw FileIOError("opendir", path: path, code: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Never through a symbolic link (`O_NOFOLLOW`).
    public func open(_ path: String, create: Bool) throws(FileIOError) -> any BufferFile {
        try open(path, flags: O_RDWR | (create ? O_CREAT : 0))
    }

    public func createNew(_ path: String) throws(FileIOError) -> any BufferFile {
        try open(path, flags: O_RDWR | O_CREAT | O_EXCL)
    }

    public func openForReading(_ path: String) throws(FileIOError) -> any BufferFile {
        try open(path, flags: O_RDONLY)
    }

    private func open(_ path: String, flags: Int32) throws(FileIOError) -> any BufferFile {
        let descriptor = Glibc.open(path, flags | O_NOFOLLOW | O_CLOEXEC, Self.fileMode)
        guard descriptor >= 0 else { throw FileIOError("open", path: path, code: errno) }
        return POSIXFile(descriptor: descriptor, path: path)
    }

    public func rename(_ source: String, to destination: String) throws(FileIOError) {
        guard Glibc.rename(source, destination) == 0 else { throw FileIOError("rename", path: source, code: errno) }
    }

    public func remove(_ path: String) throws(FileIOError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileIOError("unlink", path: path, code: errno) }
    }

    public func synchronizeDirectory(_ path: String) throws(FileIOError) {
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIOError("open", path: path, code: errno) }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileIOError("fsync", path: path, code: errno) }
    }

    public func sharedLock(_ path: String) throws(FileIOError) -> any BufferLock {
        let descriptor = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0, errno == ENOENT { return POSIXLock(descriptor: -1) }
        guard descriptor >= 0 else { throw FileIOError("open", path: path, code: errno) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw FileIOError("lock", path: path, code: code)
        }
        return POSIXLock(descriptor: descriptor)
    }

    public func lock(_ path: String) throws(FileIOError) -> any BufferLock {
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, Self.fileMode)
        guard descriptor >= 0 else { throw FileIOError("open", path: path, code: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw FileIOError("lock", path: path, code: code)
        }
        // Leave the holder's pid for the message another process shows.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return POSIXLock(descriptor: descriptor)
    }
}

/// A file descriptor. `@unchecked Sendable`: the descriptor never changes, and `pread`/`pwrite`
/// at explicit offsets are safe from several threads.
final class POSIXFile: BufferFile, @unchecked Sendable {
    private enum DirectDescriptor {
        case untried
        case open(Int32)
        case unavailable
    }

    private let descriptor: Int32
    private let path: String
    /// A second descriptor for large gathered writes (see ``DirectWrites``), opened at the first.
    private let direct = Locked(DirectDescriptor.untried)
    /// How many bytes went to the device past the page cache.
    let bytesWrittenDirectly = Atomic<Int>(0)

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        Glibc.close(descriptor)
        if case .open(let direct) = direct.withLock({ $0 }) { Glibc.close(direct) }
    }

    var size: Int {
        get throws(FileIOError) {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw FileIOError("fstat", path: path, code: errno) }
            return Int(status.st_size)
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileIOError("write", path: path, code: errno)
            }
            written += result
        }
    }

    /// A batch of at least ``DirectWrites/threshold`` bytes goes past the page cache where the file
    /// system allows; a smaller one (or any, where it does not) with ``writeThroughCache(_:at:)``.
    func write(gathering parts: [[UInt8]], at offset: Int) throws(FileIOError) {
        let total = parts.reduce(0) { $0 + $1.count }
        if total >= DirectWrites.threshold, let direct = directDescriptor(),
            try writeDirectly(parts, at: offset, direct)
        {
            return
        }
        try writeThroughCache(parts, at: offset)
    }

    private func directDescriptor() -> Int32? {
        direct.withLock { state in
            switch state {
            case .open(let direct):
                return direct
            case .unavailable:
                return nil
            case .untried:
                guard let direct = DirectWrites.reopen(descriptor) else {
                    state = .unavailable
                    return nil
                }
                state = .open(direct)
                return direct
            }
        }
    }

    /// Whether the batch was written; `false` when it must be written through the cache instead.
    private func writeDirectly(_ parts: [[UInt8]], at offset: Int, _ direct: Int32) throws(FileIOError) -> Bool {
        let (outcome, directBytes) = DirectWrites.write(parts: parts, at: offset, direct: direct, buffered: descriptor)
        bytesWrittenDirectly.add(directBytes, ordering: .relaxed)
        switch outcome {
        case .written:
            return true
        case .notWritten(let unsupported):
            if unsupported {
                self.direct.withLock { state in
                    if case .open(let direct) = state { Glibc.close(direct) }
                    state = .unavailable
                }
            }
            return false
        case .failed(let code):
            throw FileIOError("write", path: path, code: code)
        }
    }

    /// `pwritev`: one system call for a batch of frames, without copying them into one buffer.
    private func writeThroughCache(_ parts: [[UInt8]], at offset: Int) throws(FileIOError) {
        var position = offset
        var start = 0
        while start < parts.count {
            let batch = parts[start..<min(parts.count, start + 512)]
            let expected = batch.reduce(0) { $0 + $1.count }
            let written = Self.withIOVectors(Array(batch)) { vectors in
                pwritev(descriptor, vectors.baseAddress, Int32(vectors.count), off_t(position))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileIOError("write", path: path, code: errno)
            }
            if written < expected {
                // A short write: finish this batch byte-wise from where it stopped.
                let rest = Array(batch.flatMap { $0 }.dropFirst(written))
                try write(rest, at: position + written)
            }
            position += expected
            start += batch.count
        }
    }

    private static func withIOVectors<R>(_ parts: [[UInt8]], _ body: (UnsafeBufferPointer<iovec>) -> R) -> R {
        var vectors: [iovec] = []
        vectors.reserveCapacity(parts.count)
        func collect(_ index: Int) -> R {
            guard index < parts.count else { return vectors.withUnsafeBufferPointer(body) }
            return parts[index].withUnsafeBytes { bytes in
                vectors.append(
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
                )
                return collect(index + 1)
            }
        }
        return collect(0)
    }

    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileIOError("read", path: path, code: errno)
            }
            if result == 0 { break }
            done += result
        }
        return Array(bytes.prefix(done))
    }

    func synchronize() throws(FileIOError) {
        guard fsync(descriptor) == 0 else { throw FileIOError("fsync", path: path, code: errno) }
    }

    func truncate(to size: Int) throws(FileIOError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw FileIOError("ftruncate", path: path, code: errno) }
    }
}

/// A held `flock`; released explicitly or when the process ends.
private struct POSIXLock: BufferLock {
    let descriptor: Int32

    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
    }
}
