import Logging
import RelayPrimitives

/// Log entries kept in memory, so tests can assert what was logged (and what never was).
public final class LogCapture: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The entry as one line of text, metadata included, for searching.
        public var line: String {
            message + " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    private let storage = Locked<[Entry]>([])

    public init() {}

    /// Everything logged so far.
    public var entries: [Entry] { storage.withLock { $0 } }

    /// A logger writing into this capture at `level`.
    public func logger(label: String = "test", level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        storage.withLock { $0.append(entry) }
    }
}

private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { _, new in new }
        capture.append(
            LogCapture.Entry(
                level: event.level,
                message: event.message.description,
                metadata: merged.mapValues { "\($0)" }
            )
        )
    }
}
