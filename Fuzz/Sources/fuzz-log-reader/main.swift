import CLibFuzzer
import Foundation
import Logging
import Metrics
import RetryBufferTestKit

@testable import RetryBuffer

// The buffer's log reader on arbitrary bytes: what a relay finds on disk after a crash, a bad disk
// or a hand edit. Input: a mode byte, a little-endian 16-bit length, then the bytes, split at that
// length into two files:
//   mode 0: one segment log; mode 1: a segment log and its state file; mode 2: a seen-id journal.
// Properties: recovery and `buffer check` never crash; after `check --quarantine` the directory
// checks clean and recovery still succeeds; every record recovery indexes can be read back.

let directory = "/buffer"
let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }

func write(_ bytes: [UInt8], to name: String, in fileSystem: InMemoryFileSystem) {
    guard let file = try? fileSystem.open(directory + "/" + name, create: true) else {
        fatalError("in-memory open failed")
    }
    try? file.write(bytes, at: 0)
}

func fuzzLogReader(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard input.count >= 3 else { return 0 }
    let mode = input[0] % 3
    let split = min(Int(input[1]) | Int(input[2]) << 8, input.count - 3)
    let first = Array(input[3..<(3 + split)])
    let second = Array(input[(3 + split)...])

    let fileSystem = InMemoryFileSystem()
    try? fileSystem.createDirectory(directory)
    switch mode {
    case 0:
        write(first + second, to: SegmentFiles.logName(1), in: fileSystem)
    case 1:
        write(first, to: SegmentFiles.logName(1), in: fileSystem)
        write(second, to: SegmentFiles.stateName(1), in: fileSystem)
    default:
        try? fileSystem.createDirectory(directory + "/" + SeenJournal.folderName)
        write(first + second, to: SeenJournal.folderName + "/" + SeenJournal.fileName(29_921_906), in: fileSystem)
        _ = SeenJournal.load(bufferDirectory: directory, fileSystem: fileSystem, now: 1_795_314_000_000, logger: logger)
        return 0
    }

    let recovery = BufferRecovery(
        directory: directory,
        fileSystem: fileSystem,
        logger: logger,
        metricsFactory: NOOPMetricsHandler.instance
    )
    if let recovered = try? recovery.run() {
        for entry in recovered.index.entries.values {
            guard let segment = recovered.index.segments[entry.segment],
                let bytes = try? segment.log.read(at: entry.offset, count: entry.frameLength),
                case .frame(let payload, _) = RecordFrame.scan(bytes, at: 0)
            else {
                fatalError("recovery indexed record \(entry.id) but its frame does not read back")
            }
            precondition(
                (try? BufferCodec.decodeRecord(Array(bytes[payload]))) != nil,
                "indexed record does not decode"
            )
        }
    }
    _ = try? RetryBuffer.check(directory: directory, quarantine: true, fileSystem: fileSystem, logger: logger)
    guard
        let again = try? RetryBuffer.check(
            directory: directory,
            quarantine: false,
            fileSystem: fileSystem,
            logger: logger
        )
    else {
        fatalError("a quarantined buffer could not be checked again")
    }
    precondition(again.isClean, "damage left after quarantine: \(again.damage)")
    precondition((try? recovery.run()) != nil, "recovery failed after quarantine")
    return 0
}

/// The entry point libFuzzer's runtime links against.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt { fuzzLogReader(start, count) }

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, fuzzLogReader))
