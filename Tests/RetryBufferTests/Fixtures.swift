import Logging
import RelayPrimitives
import RetryBuffer
import RetryBufferTestKit

let quietLogger = Logger(label: "test.buffer") { _ in SwiftLogNoOpLogHandler() }
let bufferDirectory = "/buffer"

/// A record with recognizable content.
func sampleRecord(_ number: Int, key: String? = nil, size: Int = 64) -> BufferRecord {
    BufferRecord(
        source: "docutray",
        deliveryID: "req_\(number)",
        eventType: "CONVERSION_COMPLETED",
        topic: "docutray.conversion.completed",
        key: Array((key ?? "doc-\(number)").utf8),
        headers: [
            BufferedHeader(name: "ce_id", value: Array("req_\(number)".utf8)),
            BufferedHeader(name: "empty", value: nil),
        ],
        value: Array("{\"n\":\(number),\"pad\":\"\(String(repeating: "x", count: max(0, size - 20)))\"}".utf8),
        receivedAt: 1_705_314_600_000 + Int64(number),
        attempts: 1
    )
}

/// A settable clock in Unix milliseconds.
final class TestClock: Sendable {
    let millis = Locked<Int64>(1_705_314_600_000)
    var now: @Sendable () -> Int64 { { [self] in millis.withLock { $0 } } }
    func advance(seconds: Int64) { millis.withLock { $0 += seconds * 1000 } }
}

func openBuffer(
    _ fileSystem: any BufferFileSystem,
    directory: String = bufferDirectory,
    configuration: BufferConfiguration = BufferConfiguration(maintenanceInterval: .milliseconds(20)),
    clock: TestClock = TestClock()
) throws -> RetryBuffer {
    try RetryBuffer.open(
        directory: directory,
        configuration: configuration,
        fileSystem: fileSystem,
        logger: quietLogger,
        clock: clock.now
    )
}

extension RetryBuffer {
    /// Every record id by state, read from disk.
    func idsByState() throws -> [RecordState: Set<RecordID>] {
        var result: [RecordState: Set<RecordID>] = [:]
        for stored in try records() { result[stored.state, default: []].insert(stored.id) }
        return result
    }
}
