import CLibFuzzer
import Foundation
import FuzzSupport
import HTTPTypes
import SenderKit
import Senders

// Every sender's verification. The input's first byte picks the sender; the rest is a header block
// ("name: value" lines) and, after an empty line, a body. Properties on every input:
// 1. verifying the request as sent never crashes, whatever the headers and body hold;
// 2. the body signed by the sender's own signer (with the event type and id the input names) is
//    never refused for its signature or its time: it passes, or fails only for a malformed name,
//    id or body field (checked after the signature);
// 3. the body kinds senders post are read without crashing: form fields that decode decode the
//    same once re-encoded, and every element of a JSON array (top level or `/items`) is a whole
//    JSON value on its own.

/// A source's settings, fixed: one known secret per sender.
struct FuzzSettings: SourceSettings {
    var name = "fuzz"
    var secrets: [String]
    var secretsSetting = Setting("sources.<source>.secrets", "RELAY_<SOURCE>_SECRETS", "")
    var timestampTolerance: Int64 = 300
    var publicURL: String? = "https://relay.example.com/webhooks/fuzz"

    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String? {
        setting.key.hasSuffix(".webhook_url") ? "https://relay.example.com/webhooks/fuzz" : nil
    }

    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int {
        Int(setting.defaultValue ?? "") ?? 0
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: Setting,
        _ type: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
        Choice(rawValue: setting.defaultValue ?? "") ?? Choice.allCases.first!
    }
}

// Every sender the relay can sign for, each with a secret of its own form (the properties hold
// whatever the secret), and the private key of those that sign with one (SendGrid, Discord).
let senders = SenderRegistry.all.senders.compactMap { $0 as? any SenderTooling }
let credentials = senders.map { $0.generateCredentials() }
let schemes: [any WebhookScheme & WebhookSigner] = zip(senders, credentials).map { sender, credentials in
    var settings = FuzzSettings(secrets: [credentials.secret])
    return try! sender.makeScheme(for: &settings) as! any WebhookScheme & WebhookSigner
}
let now = Date(timeIntervalSince1970: 1_767_225_600)

func fuzzSenders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let index = Int(bytes[0]) % schemes.count
    let scheme = schemes[index]
    let (fields, body) = FuzzRequest.parse(bytes.dropFirst())
    _ = try? scheme.verify(WebhookRequest(headers: fields, body: body), now: now)
    checkBodyKinds(body)

    // The event type a header-typed sender needs: whatever the input's first header value is.
    let eventType = fields.first.map { HTTPField(name: $0.name, value: $0.value).value } ?? "push"
    var delivery = OutgoingDelivery(
        body: body,
        eventType: eventType,
        deliveryID: "fuzz-1",
        timestamp: 1_767_225_600,
        signingKey: credentials[index].signingKey
    )
    // A sender that signs a time inside the body (Linear) gets it written there, as `sign` does.
    delivery.body = scheme.stamped(delivery)
    guard let signed = try? scheme.sign(delivery) else { return 0 }
    var headers = HTTPFields()
    for (name, value) in signed { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
    do {
        _ = try scheme.verify(WebhookRequest(headers: headers, body: delivery.body), now: now)
    } catch {
        switch error {
        case .invalidHeader, .missingHeader, .invalidBody, .malformedBody, .invalidField: break
        case .missingSignature, .badSignature, .staleTimestamp:
            // Shopify and Square refuse an empty body as unsigned, as their own verifiers do.
            if ["shopify", "square"].contains(senders[index].name), delivery.body.isEmpty { break }
            // A time inside the body is the input's where the stamp found none at the top level
            // (a nested or escaped "webhookTimestamp").
            if senders[index].name == "linear", case .staleTimestamp = error { break }
            // Adyen and Mailgun sign inside the body, where `stamped` writes the signature into
            // fields shaped as theirs; an input without them (or with them escaped) stays unsigned.
            if ["adyen", "mailgun"].contains(senders[index].name), case .missingSignature = error { break }
            if ["adyen", "mailgun"].contains(senders[index].name), case .badSignature = error { break }
            fatalError("\(senders[index].name): a correctly signed request was refused: \(error)")
        }
    }
    return 0
}

/// Property 3: the body read as form fields and as JSON arrays.
func checkBodyKinds(_ body: [UInt8]) {
    if let form = FormFields(encoded: body) {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        func encode(_ text: String) -> String {
            text.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : "%" + Hex.encode([$0]) }.joined()
        }
        let encoded = form.fields.map { encode($0.name) + "=" + encode($0.value) }.joined(separator: "&")
        guard FormFields(encoded: Array(encoded.utf8)) == form else {
            fatalError("form fields changed when encoded again: \(form.fields)")
        }
    }
    for (shape, pointer) in [(JSONShape.array, nil), (.objectOrArray, JSONPointer("/items"))]
        as [(JSONShape, JSONPointer?)]
    {
        guard let document = try? JSONScanner.scan(body, capturing: [], shape: shape, elementsAt: pointer) else {
            continue
        }
        for range in document.elements {
            let element = Array(body[range])
            guard element.first == UInt8(ascii: "{") || element.first == UInt8(ascii: "[") else { continue }
            guard (try? JSONScanner.scan(element, capturing: [], shape: .objectOrArray)) != nil else {
                fatalError("an element of the array is not a JSON value on its own: \(range)")
            }
        }
    }
}

/// The entry point libFuzzer's runtime links against.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt { fuzzSenders(start, count) }

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, fuzzSenders))
