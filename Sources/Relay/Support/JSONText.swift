import NIOCore
import SenderKit

extension JSONText {
    /// Appends `text` as a JSON string literal to `buffer`: as it is when nothing in it needs an
    /// escape (as in every delivery id and topic the relay answers with), else as above.
    static func appendString(_ text: String, to buffer: inout ByteBuffer) {
        let plain = text.utf8.allSatisfy { byte in
            byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
        }
        guard plain else {
            var escaped: [UInt8] = []
            appendString(text, to: &escaped)
            buffer.writeBytes(escaped)
            return
        }
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeString(text)
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
