import CLibFuzzer
import Foundation
import FuzzSupport
import HTTPTypes
import SenderKit
import Senders

// Header and signature parsing of the Docutray scheme. The input is a header block ("name: value"
// lines) and, after an empty line, a body. Two properties are checked on every input:
// 1. verifying the request as sent never crashes, whatever the headers hold;
// 2. the same request re-signed with the right secret is never refused for its signature: it passes,
//    or fails only for a malformed header or a stale timestamp.

let secret = "whsec_fuzz_secret_0123456789"
let webhookURL = "https://relay.example.com/webhooks/docutray"
let scheme = DocutrayScheme(secrets: ["whsec_other_secret_000", secret], webhookURL: webhookURL)
let signer = DocutraySigner(secret: secret, webhookURL: webhookURL)
let now = Date(timeIntervalSince1970: 1_705_314_600)

func fuzzHeaders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let (fields, body) = FuzzRequest.parse(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? scheme.verify(WebhookRequest(headers: fields, body: body), now: now)

    // As a sender would send them: header values lose surrounding whitespace on the wire.
    let event = HTTPField(name: DocutrayScheme.Header.event, value: fields[DocutrayScheme.Header.event] ?? "A").value
    let requestID = HTTPField(
        name: DocutrayScheme.Header.requestID,
        value: fields[DocutrayScheme.Header.requestID] ?? "r"
    )
    .value
    let timestamp = fields[DocutrayScheme.Header.timestamp].flatMap(UnixTimestamp.parse) ?? 1_705_314_600
    var signed = HTTPFields()
    for (name, value) in signer.headers(body: body, event: event, requestID: requestID, timestamp: timestamp) {
        signed.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    do {
        let verified = try scheme.verify(WebhookRequest(headers: signed, body: body), now: now)
        precondition(verified.deliveryID == requestID && verified.eventType == event)
    } catch {
        switch error {
        case .invalidHeader, .missingHeader, .staleTimestamp: break
        case .missingSignature, .badSignature:
            fatalError("a correctly signed request was refused: \(error) for \(event) \(requestID)")
        case .invalidBody, .malformedBody, .invalidField:
            fatalError("the Docutray scheme read the body: \(error)")
        case .untrustedCertificate, .certificateUnavailable:
            fatalError("the Docutray scheme fetches no certificate: \(error)")
        }
    }
    return 0
}

/// The entry point libFuzzer's runtime links against.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt { fuzzHeaders(start, count) }

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, fuzzHeaders))
