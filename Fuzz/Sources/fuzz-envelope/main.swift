import CLibFuzzer
import Foundation
import Relay
import SenderKit
import Senders

// The JSON scanner and the CloudEvents envelope. The input's first byte is the length of a delivery
// id taken from the next bytes (any bytes: the envelope must encode whatever it is given); the rest
// is the body. For every body the scanner accepts:
// 1. binary mode forwards the body byte for byte;
// 2. structured mode is one JSON object whose `id` and `specversion` read back as given.

let scheme = DocutrayScheme(secrets: ["whsec_fuzz_secret_0123456789"], webhookURL: "https://relay.example.com/")
let descriptor = scheme.describe(eventType: "CONVERSION_COMPLETED")
let binary = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com", mode: .binary)
let structured = CloudEventEnvelope(cloudEventSource: "https://app.docutray.com", mode: .structured)

func fuzzEnvelope(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let idLength = bytes.first.map(Int.init), bytes.count > idLength else { return 0 }
    let deliveryID = String(decoding: bytes[1..<(1 + idLength)], as: UTF8.self)
    let body = Array(bytes[(1 + idLength)...])
    guard let captured = try? JSONScanner.scan(body, capturing: [descriptor.keyField ?? "/conversion_id"]) else {
        return 0
    }
    let webhook = VerifiedWebhook(
        eventType: descriptor.eventType,
        deliveryID: deliveryID,
        signedAt: 1_705_314_600,
        checks: ["timestamp", "body-signature"],
        forwardedHeaders: []
    )
    let event = RelayEvent(
        source: "docutray",
        webhook: webhook,
        descriptor: descriptor,
        subject: captured[0],
        body: body,
        receivedAt: Date(timeIntervalSince1970: 1_705_314_601)
    )
    let record = binary.record(for: event, topic: "docutray.conversion.completed")
    precondition(record.value == body, "binary mode changed the body")
    precondition(record.key == Array(event.partitionKey.utf8))

    let document = structured.record(for: event, topic: "docutray.conversion.completed").value
    do {
        let attributes = try JSONScanner.scanObject(document, capturing: ["id", "specversion"])
        precondition(attributes["id"] == deliveryID, "ce id read back as \(attributes["id"] ?? "nothing")")
        precondition(attributes["specversion"] == "1.0")
    } catch  where error.reason.contains("deeper than") {
        // The body nests as deep as the scanner allows; one level more in the envelope is fine.
    } catch {
        fatalError("structured envelope is not JSON: \(error)")
    }
    return 0
}

/// The entry point libFuzzer's runtime links against.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt { fuzzEnvelope(start, count) }

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, fuzzEnvelope))
