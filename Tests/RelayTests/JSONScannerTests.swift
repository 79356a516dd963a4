import Foundation
import Relay
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("JSON validation without re-serialization")
struct JSONScannerTests {
    @Test("Every fixture body is an object and its id field is captured")
    func fixtureBodies() throws {
        for vector in try SignatureVector.all() {
            let fields = try JSONScanner.scanObject(
                vector.bodyBytes,
                capturing: ["conversion_id", "identification_id", "step_execution_id"]
            )
            #expect(fields.count == 1, "\(vector.deliveryID)")
        }
    }

    @Test("Captured strings are unescaped, numbers are kept as written, nested members are ignored")
    func capture() throws {
        let body = #"{"nested":{"id":"inner"},"id":"a\"b\\c\u00e9\ud83d\ude00","n":-12.5e3,"flag":true}"#
        let fields = try JSONScanner.scanObject(Array(body.utf8), capturing: ["id", "n", "flag", "missing"])
        #expect(fields["id"] == "a\"b\\cé😀")
        #expect(fields["n"] == "-12.5e3")
        #expect(fields["flag"] == nil)
        #expect(fields["missing"] == nil)
    }

    @Test("Unicode bodies are accepted and their id read")
    func unicode() throws {
        let fields = try JSONScanner.scanObject(
            Array(#"{"conversion_id": "clm_ünïcødé_€", "x": "東京"}"#.utf8),
            capturing: ["conversion_id"]
        )
        #expect(fields["conversion_id"] == "clm_ünïcødé_€")
    }

    @Test(
        "Documents that are not one JSON object are refused",
        arguments: [
            "", "   ", "[]", "\"text\"", "42", "null", "true", "{", "}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}",
            "{a:1}", "{\"a\":1}{}", "{\"a\":1} x", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":.5}",
            "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"line\nbreak\"}",
            "{\"a\":[1,2,]}", "{\"a\":\"unterminated}", "\u{FEFF}{}",
        ]
    )
    func invalid(_ text: String) {
        #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(Array(text.utf8)) }
    }

    @Test(
        "Invalid UTF-8 inside strings is refused",
        arguments: [
            [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xC3],
        ] as [[UInt8]]
    )
    func invalidUTF8(_ bytes: [UInt8]) {
        let document = Array(#"{"a":""#.utf8) + bytes + Array(#""}"#.utf8)
        #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(document) }
    }

    @Test("Strings are read eight bytes at a time; a quote, escape, control or non-ASCII byte stops a run anywhere")
    func plainRuns() throws {
        let specials: [[UInt8]] = [
            [0x22], Array(#"\n"#.utf8), Array(#"\""#.utf8), Array(#"\u00e9"#.utf8), Array(#"\x"#.utf8), [0x00], [0x01],
            [0x1F], [0x09], [0x20], [0x21], [0x7F], Array("é".utf8), Array("東".utf8), Array("😀".utf8), [0xFF], [0x80],
        ]
        for special in specials {
            for offset in 0..<24 {
                let text =
                    [UInt8](repeating: UInt8(ascii: "a"), count: offset) + special
                    + [UInt8](repeating: UInt8(ascii: "b"), count: 40 - offset)
                let document = Array(#"{"a":""#.utf8) + text + Array(#"","id":"x"}"#.utf8)
                let foundation = (try? JSONSerialization.jsonObject(with: Data(document))) as? [String: String]
                let scanned = try? JSONScanner.scanObject(document, capturing: ["a", "id"])
                let what = "\(special) at \(offset)"
                #expect((scanned == nil) == (foundation == nil), "\(what): valid only for one of them")
                #expect(scanned?["a"] == foundation?["a"], "\(what)")
                #expect(scanned?["id"] == foundation?["id"], "\(what)")
            }
        }
    }

    @Test("Nesting is limited, so a deeply nested body cannot exhaust the stack")
    func depthLimit() throws {
        let allowed =
            String(repeating: "[", count: JSONScanner.maximumDepth - 1)
            + String(repeating: "]", count: JSONScanner.maximumDepth - 1)
        #expect(throws: Never.self) { try JSONScanner.scanObject(Array("{\"a\":\(allowed)}".utf8)) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(Array("{\"a\":\(deep)}".utf8)) }
    }

    @Test("The scanner agrees with Foundation's parser on random documents")
    func agreesWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let value = randomJSON(depth: 0, using: &generator)
            let data = try JSONSerialization.data(withJSONObject: ["v": value, "id": "x"])
            var bytes = Array(data)
            #expect(throws: Never.self) { try JSONScanner.scanObject(bytes) }
            // Truncating a valid object anywhere leaves invalid JSON.
            bytes.removeLast(Int.random(in: 1...bytes.count))
            #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(bytes) }
        }
    }

    private func randomJSON(depth: Int, using generator: inout SystemRandomNumberGenerator) -> Any {
        switch Int.random(in: 0..<(depth > 4 ? 4 : 6), using: &generator) {
        case 0: return Int.random(in: -1_000_000...1_000_000, using: &generator)
        case 1: return Double.random(in: -1e6...1e6, using: &generator)
        case 2:
            return String(
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                    "aé\"\\\n東😀 ".randomElement(using: &generator)!
                }
            )
        case 3: return Bool.random(using: &generator) ? NSNull() : true
        case 4:
            return (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                randomJSON(depth: depth + 1, using: &generator)
            }
        default:
            var object: [String: Any] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                object["k\(index)"] = randomJSON(depth: depth + 1, using: &generator)
            }
            return object
        }
    }
}
