import CLibFuzzer
import Crypto
import Foundation
import FuzzSupport
import HTTPTypes
import SenderKit
import Senders
import _CryptoExtras

// Every sender's verification. The input's first byte picks the sender; the rest is a header block
// ("name: value" lines) and, after an empty line, a body. Properties on every input:
// 1. verifying the request as sent never crashes, whatever the headers and body hold;
// 2. the body signed by the sender's own signer (with the event type and id the input names) is
//    never refused for its signature or its time: it passes, or fails only for a malformed name,
//    id or body field (checked after the signature);
// 3. the body kinds senders post are read without crashing: form fields that decode decode the
//    same once re-encoded, and every element of a JSON array (top level or `/items`) is a whole
//    JSON value on its own.
// 4. Amazon SNS and PayPal, whose key comes from a certificate the relay fetched: verifying never
//    crashes with a key in hand, and a body PayPal signs with that key is never refused for its
//    signature (SNS's signed string is built from the body's fields, so property 1 covers it).

/// A source's settings, fixed: one known secret per sender.
struct FuzzSettings: SourceSettings {
    var name = "fuzz"
    var secrets: [String]
    var secretsSetting = Setting("sources.<source>.secrets", "RELAY_<SOURCE>_SECRETS", "")
    var timestampTolerance: Int64 = 300
    var publicURL: String? = "https://relay.example.com/webhooks/fuzz"

    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String? {
        if setting.key.hasSuffix(".webhook_url") { return "https://relay.example.com/webhooks/fuzz" }
        return setting.key.hasSuffix(".webhook_id") ? "1JE4291016473214C" : nil
    }

    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int {
        Int(setting.defaultValue ?? "") ?? 0
    }

    mutating func list(_ setting: Setting) throws(ConfigurationError) -> [String] {
        setting.key.hasSuffix(".topic_arns") ? ["arn:aws:sns:us-east-1:123456789012:orders"] : []
    }

    mutating func boolean(_ setting: Setting) throws(ConfigurationError) -> Bool { setting.defaultValue == "true" }

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

// The certificate-signed senders, with the key a fetched certificate would have given.
// A committed test key: generating one leaks a BIGNUM in swift-crypto 3.12.3, which LeakSanitizer
// would report on every run.
let certificateKey = try! _RSA.Signing.PrivateKey(
    pemRepresentation: String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../Tests/SenderLibraries/keys/paypal-signing.key.pem"),
        encoding: .utf8
    )
)
let fetchedKey = FetchedKey(url: "fuzz", publicKeyDER: Array(certificateKey.publicKey.derRepresentation))
let certificateSchemes: [any WebhookScheme] = SenderRegistry.all.senders.filter { !$0.usesSecrets }.map { sender in
    var settings = FuzzSettings(secrets: [])
    return try! sender.makeScheme(for: &settings)
}
let paypal = certificateSchemes.first { $0 is PayPalScheme }!

/// Property 4.
func fuzzCertificateSenders(_ fields: HTTPFields, _ body: [UInt8], pick: UInt8) {
    var request = WebhookRequest(headers: fields, body: body)
    request.fetchedKey = fetchedKey
    _ = try? certificateSchemes[Int(pick) % certificateSchemes.count].verify(request, now: now)
    let time = "2026-01-01T00:00:00Z"
    let signed = PayPalScheme.signedString(
        transmissionID: "t-\(pick)",
        time: time,
        webhookID: "1JE4291016473214C",
        body: body
    )
    let signature = try! certificateKey.signature(for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
    var headers = HTTPFields()
    for (name, value) in [
        ("paypal-transmission-id", "t-\(pick)"), ("paypal-transmission-time", time),
        ("paypal-transmission-sig", signature.rawRepresentation.base64EncodedString()),
        ("paypal-cert-url", "https://api.paypal.com/v1/notifications/certs/CERT-fuzz"),
        ("paypal-auth-algo", "SHA256withRSA"),
    ] {
        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    var signedRequest = WebhookRequest(headers: headers, body: body)
    signedRequest.fetchedKey = fetchedKey
    do {
        _ = try paypal.verify(signedRequest, now: now)
    } catch {
        switch error {
        case .invalidBody, .invalidField: break
        // The same transmission id (the input's pick) seen before with another body: the guard.
        case .badSignature(_, let reason) where reason.contains("another body"): break
        default: fatalError("paypal: a correctly signed request was refused: \(error)")
        }
    }
}

func fuzzSenders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let index = Int(bytes[0]) % schemes.count
    let scheme = schemes[index]
    let (fields, body) = FuzzRequest.parse(bytes.dropFirst())
    _ = try? scheme.verify(WebhookRequest(headers: fields, body: body), now: now)
    checkBodyKinds(body)
    fuzzCertificateSenders(fields, body, pick: bytes[0])

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
        case .untrustedCertificate, .certificateUnavailable:
            fatalError("\(senders[index].name): a scheme that fetches no certificate refused one: \(error)")
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
