import RelayTools
import RetryBuffer
import Testing

@testable import Relay

@Suite("What the buffer tools print")
struct BufferReportTests {
    /// A record whose every field an attacker could have chosen carries terminal escape sequences.
    static let hostile: StoredRecord = {
        let escape = "\u{1B}]0;owned\u{07}\u{1B}[2J"
        return StoredRecord(
            id: RecordID(rawValue: 7),
            state: .dead,
            reason: "refused\r\u{1B}[1A",
            record: BufferRecord(
                source: "github",
                deliveryID: "id-" + escape,
                eventType: "push\u{202E}gpj.exe",
                topic: "github.unrecognized",
                key: Array(("k" + escape).utf8),
                headers: [BufferedHeader(name: "x-github-event", value: Array(escape.utf8))],
                value: Array(#"{"a":"line one"}"#.utf8) + [0x0A, 0x09] + Array(("two" + escape + "\u{85}").utf8),
                receivedAt: 1_705_314_600_000,
                attempts: 1
            )
        )
    }()

    @Test("inspect and its listing print control characters, C1 controls and bidi overrides escaped, never raw")
    func controlCharactersEscaped() {
        let document = BufferOperations.document(Self.hostile, includeBody: true)
        for output in [BufferReport.record(document), BufferReport.records([document])] {
            let raw = output.unicodeScalars.filter {
                ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value)
                    || (0x202A...0x202E).contains($0.value)
            }
            #expect(raw.isEmpty, "raw control characters reach the terminal: \(raw.map(\.value))")
        }
        let record = BufferReport.record(document)
        #expect(record.contains("id-\\u{1b}]0;owned\\u{7}\\u{1b}[2J"))
        #expect(record.contains("push\\u{202e}gpj.exe"))
        #expect(record.contains("refused\\u{d}\\u{1b}[1A"))
        // The body keeps its own lines and tabs.
        #expect(record.contains("{\"a\":\"line one\"}\n\ttwo\\u{1b}"))
        #expect(record.contains("\\u{85}"))
    }
}
