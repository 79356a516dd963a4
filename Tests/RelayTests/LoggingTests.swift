import Foundation
import Logging
import Relay
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("Log lines")
struct LoggingTests {
    @Test("Each entry is one parseable JSON object with level, message and metadata")
    func jsonLines() throws {
        let lines = Locked<[[UInt8]]>([])
        var handler = JSONLogHandler(label: "relay") { line in lines.withLock { $0.append(line) } }
        handler.logLevel = .debug
        let logger = Logger(label: "relay") { _ in handler }
        logger.notice("Rejected webhook", metadata: ["request_id": "req_\"quoted\"", "status": "401"])
        logger.trace("below the level")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains(UInt8(ascii: "\n")))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: String])
        #expect(object["level"] == "notice")
        #expect(object["message"] == "Rejected webhook")
        #expect(object["request_id"] == "req_\"quoted\"")
        #expect(object["status"] == "401")
        #expect(object["time"]?.hasSuffix("Z") == true)
    }

    /// Collects what a `StreamLogHandler` writes.
    final class Lines: TextOutputStream, @unchecked Sendable {
        private let lines = Locked<[String]>([])
        func write(_ string: String) { lines.withLock { $0.append(string) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test("Text lines are the ones swift-log's StreamLogHandler writes, metadata set on the logger included")
    func textLines() throws {
        let ours = Lines()
        let theirs = Lines()
        var loggers = [
            Logger(label: "relay") { label in TextLogHandler(label: label) { ours.write($0) } },
            Logger(label: "relay") { label in StreamLogHandler(label: label, stream: theirs, metadataProvider: nil) },
        ]
        struct Refused: Error {}
        for index in loggers.indices {
            loggers[index][metadataKey: "hb.request.id"] = "7"
            loggers[index][metadataKey: "a.first"] = "set, then replaced"
            loggers[index][metadataKey: "a.first"] = "replaced"
            loggers[index].notice("Rejected webhook", metadata: ["status": "401", "hb.request.id": "8"])
            loggers[index].info("Started")
            loggers[index].error("Failed", error: Refused())
            loggers[index].debug("below the level")
        }
        /// A line without its timestamp (the first field), which may differ by a second.
        func untimed(_ line: String) -> String { String(line.drop { $0 != " " }) }
        #expect(ours.all.count == 3)
        #expect(ours.all.map(untimed) == theirs.all.map(untimed))
        #expect(
            untimed(ours.all.first ?? "")
                == " notice relay: a.first=replaced hb.request.id=8 status=401 [RelayTests] Rejected webhook\n"
        )
    }
}
