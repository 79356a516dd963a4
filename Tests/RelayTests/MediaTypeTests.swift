import HTTPTypes
import SenderKit
import Testing

@testable import Relay

@Suite("The webhook media types")
struct MediaTypeTests {
    @Test(
        "application/json in any case, with blanks and parameters, is JSON",
        arguments: [
            "application/json", "Application/JSON", "application/json; charset=utf-8", " application/json ",
            "\tapplication/json\t;charset=UTF-8", "APPLICATION/JSON;",
        ]
    )
    func json(_ contentType: String) {
        #expect(BodyMediaType(contentType: contentType) == .json)
    }

    @Test(
        "Form and text are read the same way",
        arguments: [
            ("application/x-www-form-urlencoded", BodyMediaType.form),
            ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", .form), ("text/plain", .text),
            (" TEXT/PLAIN ;charset=utf-8", .text),
        ]
    )
    func formAndText(_ contentType: String, _ expected: BodyMediaType) {
        #expect(BodyMediaType(contentType: contentType) == expected)
    }

    @Test(
        "Anything else is none of them",
        arguments: [
            "", "application/jsonx", "application/json-patch+json", "multipart/form-data", "text/html",
            "text/json", "application/js", "application\u{0F}json", "application/json\u{00A0}", "applicatioN/jsoN x",
            ";application/json", "text/plainx",
        ]
    )
    func unknown(_ contentType: String) {
        #expect(BodyMediaType(contentType: contentType) == nil)
    }

    @Test("No content type is none of them")
    func missing() {
        #expect(BodyMediaType(contentType: nil) == nil)
    }

    @Test(
        "A header is read as the HTTP types read it: absent, once, or several times joined by commas",
        arguments: [[], ["application/json"], ["application/json", "text/plain"], ["a", "b", "c"]]
    )
    func headerValue(_ values: [String]) {
        var headers: HTTPFields = [.accept: "*/*", .contentLength: "12"]
        for value in values { headers.append(HTTPField(name: .contentType, value: value)) }
        headers.append(HTTPField(name: .userAgent, value: "curl/8"))
        #expect(headers.value(of: .contentType) == headers[.contentType])
        #expect(headers.value(of: .contentType) == (values.isEmpty ? nil : values.joined(separator: ", ")))
        #expect(headers.value(of: .contentLength) == "12")
    }
}
