import Foundation
import Logging
import Relay
import RelayTestSupport
import SenderKit
import Senders
import Synchronization
import Testing

@Suite("JSON log lines")
struct LoggingTests {
    @Test("Each entry is one parseable JSON object with level, message and metadata")
    func jsonLines() throws {
        let lines = Mutex<[[UInt8]]>([])
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
}
