import Foundation
import NIOCore
import SenderKit
import Testing

@testable import Relay

@Suite("JSON text written by hand")
struct JSONTextTests {
    @Test(
        "A string written into a buffer is the same JSON as one written into an array, escapes included",
        arguments: [
            "", "req_01HQ3Z", "docutray.conversion.completed", "a\"quote", "back\\slash", "line\nbreak",
            "tab\tand\rreturn", "bell\u{7}", "\u{1F}", "réq_1", "日本", "emoji 🎉", "\u{7F}",
        ]
    )
    func bufferMatchesArray(_ text: String) throws {
        var array: [UInt8] = []
        JSONText.appendString(text, to: &array)
        var buffer = ByteBuffer()
        JSONText.appendString(text, to: &buffer)
        #expect(buffer.readableBytesView.elementsEqual(array))
        // And it reads back as the text it was made from.
        let decoded = try JSONSerialization.jsonObject(with: Data(array), options: .fragmentsAllowed) as? String
        #expect(decoded == text)
    }
}
