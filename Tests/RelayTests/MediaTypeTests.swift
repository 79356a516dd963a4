import HTTPTypes
import Testing

@testable import Relay

@Suite("The webhook media type")
struct MediaTypeTests {
    @Test(
        "application/json in any case, with blanks and parameters, is JSON",
        arguments: [
            "application/json", "Application/JSON", "application/json; charset=utf-8", " application/json ",
            "\tapplication/json\t;charset=UTF-8", "APPLICATION/JSON;",
        ]
    )
    func json(_ contentType: String) {
        #expect(WebhookIngress.isJSON(contentType))
    }

    @Test(
        "Anything else is not",
        arguments: [
            "", "text/plain", "application/jsonx", "application/json-patch+json", "application/x-www-form-urlencoded",
            "text/json", "application/js", "application\u{0F}json", "application/json\u{00A0}", "applicatioN/jsoN x",
            ";application/json",
        ]
    )
    func notJSON(_ contentType: String) {
        #expect(!WebhookIngress.isJSON(contentType))
    }

    @Test("No content type is not JSON")
    func missing() {
        #expect(!WebhookIngress.isJSON(nil))
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
