import Foundation
import Logging
import RetryBuffer

/// Process-wide logging set-up for the executable.
public enum RelayLogging {
    /// Installs the log handler once: human-readable text or one JSON object per line, on stderr.
    public static func bootstrap(_ configuration: RelayConfiguration.Logging) {
        LoggingSystem.bootstrap { label in
            switch configuration.format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
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

/// Writes each log entry as one JSON object on one line: `time`, `level`, `label`, `message`, and
/// the metadata as string members — the shape log shippers (Loki, Elasticsearch, CloudWatch) expect.
public struct JSONLogHandler: LogHandler {
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
