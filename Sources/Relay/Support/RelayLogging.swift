import Foundation
import Logging
import RelayPrimitives
import SenderKit

/// Process-wide logging set-up for the executable.
public enum RelayLogging {
    /// Installs the log handler once: human-readable text or one JSON object per line, on stderr.
    public static func bootstrap(_ configuration: RelayConfiguration.Logging) {
        LoggingSystem.bootstrap { label in
            switch configuration.format {
            case .text:
                var handler = TextLogHandler(label: label) { FileHandle.standardError.write(Data($0.utf8)) }
                handler.logLevel = configuration.level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label) { FileHandle.standardError.write(Data($0)) }
                handler.logLevel = configuration.level
                return handler
            }
        }
    }
}

/// Writes swift-log's `StreamLogHandler` line (`time level label: key=value … [source] message`), but
/// renders the metadata when a line is written, not each time it is set: Hummingbird gives every
/// request's logger a request id, and `StreamLogHandler` re-renders all its metadata on every set
/// (about six allocations a request) for lines that are seldom written.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void

    /// - Parameter write: receives each complete line, newline included.
    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { _, new in new }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let rendered = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        write("\(Self.timestamp()) \(event.level) \(label):\(rendered) [\(event.source)] \(event.message)\n")
    }

    /// Local time to the second with the zone offset, as `StreamLogHandler` writes it.
    private static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes each log entry as one JSON object on one line: `time`, `level`, `label`, `message`, and
/// the metadata as string members — the shape log shippers (Loki, Elasticsearch, CloudWatch) expect.
package struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// - Parameter write: receives each complete line, newline included.
    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { _, new in new }
        let millis = Date().unixMilliseconds
        var line: [UInt8] = [UInt8(ascii: "{")]
        func member(_ name: String, _ value: String) {
            if line.count > 1 { line.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONText.appendString(value, to: &line)
        }
        member("time", RFC3339.format(unixMilliseconds: millis))
        member("level", event.level.rawValue)
        member("label", label)
        member("message", event.message.description)
        for (key, value) in merged.sorted(by: { $0.key < $1.key })
        where !["time", "level", "label", "message"].contains(key) {
            member(key, "\(value)")
        }
        line.append(contentsOf: "}\n".utf8)
        write(line)
    }
}
