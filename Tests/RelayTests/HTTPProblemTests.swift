import HTTPTypes
import SenderKit
import Testing

@testable import Relay

@Suite("Error answers")
struct HTTPProblemTests {
    @Test("A 503 for a storage failure carries no file path or errno text; the log keeps them")
    func unavailableHidesItsCause() {
        let cause =
            "Kafka did not take the event (timed out) and the buffer refused it: "
            + "write /var/lib/webhook-relay/segments/00000007.log: No space left on device"
        let problem = WebhookPipeline.Rejection.unavailable(reason: cause).problem
        #expect(problem.status == .serviceUnavailable)
        #expect(problem.headers[.retryAfter] != nil)
        #expect(!problem.message.contains("/var/lib"))
        #expect(!problem.message.contains("No space"))
        #expect(problem.detail == cause, "the operator still reads the cause in the rejection log")
        let body = String(
            decoding: JSONText.object(["error": .string(problem.code), "message": .string(problem.message)]),
            as: UTF8.self
        )
        #expect(!body.contains("segments"))
    }

    @Test("Reaching a limit is 503 overloaded naming the setting, with Retry-After")
    func overloaded() {
        let problem = WebhookPipeline.Rejection.overloaded(limit: "remembered deliveries (dedup.max_entries)").problem
        #expect(problem.status == .serviceUnavailable)
        #expect(problem.code == "overloaded")
        #expect(problem.message.contains("dedup.max_entries"))
        #expect(problem.headers[.retryAfter] == HTTPProblem.retryAfterSeconds)
    }
}
