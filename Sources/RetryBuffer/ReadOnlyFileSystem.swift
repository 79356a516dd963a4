/// A view of a buffer directory that changes nothing: for the tools that only look (`buffer status`,
/// `inspect`, `export`, `check` without `--quarantine`).
///
/// Recovery and the writer run over it as they would over the real directory, so listings see what a
/// relay would see; every repair they make (a torn tail cut, a state file rewritten, a segment
/// deleted, a missing file created) happens in memory only and is never written. Files are opened
/// read-only, never through a symbolic link.
struct ReadOnlyFileSystem: BufferFileSystem {
    let base: any BufferFileSystem

    func createDirectory(_ path: String) throws(FileIOError) {}

    func createSubdirectory(_ path: String) throws(FileIOError) {}

    func contents(ofDirectory path: String) throws(FileIOError) -> [String] {
        try base.contents(ofDirectory: path)
    }

    func fileExists(_ path: String) -> Bool { base.fileExists(path) }

    func open(_ path: String, create: Bool) throws(FileIOError) -> any BufferFile {
        do {
            return ReadOnlyFile(base: try base.openForReading(path))
        } catch  where create && error.isMissing {
            return ReadOnlyFile(base: nil)
        }
    }

    func rename(_ source: String, to destination: String) throws(FileIOError) {}

    func remove(_ path: String) throws(FileIOError) {}

    func synchronizeDirectory(_ path: String) throws(FileIOError) {}

    func lock(_ path: String) throws(FileIOError) -> any BufferLock {
        try base.sharedLock(path)
    }
}

/// A file of a ``ReadOnlyFileSystem``: reads go to the file (or find it empty, for one that does
/// not exist), writes are dropped.
private final class ReadOnlyFile: BufferFile, Sendable {
    let base: (any BufferFile)?

    init(base: (any BufferFile)?) {
        self.base = base
    }

    var size: Int {
        get throws(FileIOError) { try base?.size ?? 0 }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(FileIOError) {}

    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
        try base?.read(at: offset, count: count) ?? []
    }

    func synchronize() throws(FileIOError) {}

    func truncate(to size: Int) throws(FileIOError) {}
}
