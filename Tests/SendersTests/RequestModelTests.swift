import HTTPTypes
import SenderKit
import Testing

@Suite("What a scheme reads of a request: form fields, JSON arrays, batches")
struct RequestModelTests {
    @Test(
        "Form fields are decoded as browsers and Twilio encode them: + is a space, %XX a byte, order and repeats kept"
    )
    func formFields() throws {
        let form = try #require(
            FormFields(encoded: Array("To=%2B15551234567&Body=h%C3%A9+there&x=&flag&To=second".utf8))
        )
        #expect(form.fields.map(\.name) == ["To", "Body", "x", "flag", "To"])
        #expect(form["To"] == "+15551234567")
        #expect(form["Body"] == "hé there")
        #expect(form["x"] == "" && form["flag"] == "")
        #expect(form.fields.last?.value == "second")
        #expect(FormFields(encoded: [])?.fields.isEmpty == true)
    }

    @Test(
        "A body that is not form encoding is refused: a broken escape or bytes that are not UTF-8",
        arguments: ["a=%", "a=%4", "a=%zz", "a=%C3", "%FF=1", "a=%C3%28"]
    )
    func malformedForm(_ body: String) {
        #expect(FormFields(encoded: Array(body.utf8)) == nil)
    }

    @Test("A request reads its media type and form from its headers and body")
    func requestMediaType() {
        let request = WebhookRequest(
            headers: [.contentType: "application/x-www-form-urlencoded; charset=utf-8"],
            body: Array("a=1".utf8)
        )
        #expect(request.mediaType == .form)
        #expect(request.form?["a"] == "1")
    }

    @Test("Body kinds accept their media types and name them for the 415 answer")
    func bodyKinds() {
        #expect(BodyKinds.jsonObject.accepts(.json) && !BodyKinds.jsonObject.accepts(.form))
        #expect(BodyKinds([.form, .jsonObject]).mediaTypes == [.json, .form])
        #expect(BodyKinds.text.mediaTypes == [.text])
        #expect(BodyKinds([.jsonObject, .jsonArray]).jsonShape == .objectOrArray)
        #expect(BodyKinds.jsonArray.jsonShape == .array)
        #expect(BodyKinds.form.jsonShape == nil)
    }

    @Test("A JSON array body gives its elements exactly as sent, whitespace inside them kept")
    func arrayElements() throws {
        let body = Array(#" [ {"eventId": 1, "x": [1,2]} , {"eventId":2}, 3 ] "#.utf8)
        let fields = BodyFields(body: body, capturing: ["/eventId"], shape: .array)
        let elements = try fields.elements().map { String(decoding: $0, as: UTF8.self) }
        #expect(elements == [#"{"eventId": 1, "x": [1,2]}"#, #"{"eventId":2}"#, "3"])
        #expect(try fields.value(at: "/eventId") == nil)
    }

    @Test("An array inside an object gives its elements (Adyen's notificationItems); nested arrays do not count")
    func memberArrayElements() throws {
        let body = Array(#"{"live":"false","other":[9],"notificationItems":[{"a":{"b":[1]}},{"c":2}]}"#.utf8)
        let fields = BodyFields(body: body, capturing: ["/live"], elementsAt: "/notificationItems")
        #expect(
            try fields.elements().map { String(decoding: $0, as: UTF8.self) } == [#"{"a":{"b":[1]}}"#, #"{"c":2}"#]
        )
        #expect(try fields.value(at: "/live") == "false")
    }

    @Test(
        "A document of the wrong shape is refused with what was expected",
        arguments: [
            (#"[1]"#, JSONShape.object, "a JSON object"), (#"{}"#, .array, "a JSON array"),
            (#""x""#, .objectOrArray, "a JSON object or array"), (#"[1] {}"#, .array, "after the JSON document"),
        ]
    )
    func wrongShape(_ body: String, _ shape: JSONShape, _ expected: String) {
        #expect {
            try JSONScanner.scan(Array(body.utf8), capturing: [], shape: shape)
        } throws: { error in
            (error as? JSONScanError)?.reason.contains(expected) == true
        }
    }

    @Test("Either shape is taken when both are")
    func eitherShape() throws {
        #expect(try JSONScanner.scan(Array("[]".utf8), capturing: [], shape: .objectOrArray).elements.isEmpty)
        #expect(
            try JSONScanner.scan(Array(#"{"a":"b"}"#.utf8), capturing: ["/a"], shape: .objectOrArray).values == ["b"]
        )
    }

    @Test("A JSON reply escapes what it must, and a text reply is UTF-8 with its charset")
    func replies() {
        let json = WebhookReply.json(JSONText.object(["plainToken": .string("a\"\n")]))
        #expect(String(decoding: json.body, as: UTF8.self) == #"{"plainToken":"a\"\n"}"#)
        #expect(json.contentType == "application/json" && json.status == 200)
        let text = WebhookReply.text("[accepted]")
        #expect(text.contentType == "text/plain; charset=utf-8" && text.body == Array("[accepted]".utf8))
    }
}
