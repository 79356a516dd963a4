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
}
