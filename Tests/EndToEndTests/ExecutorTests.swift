import Foundation
import RelayTestSupport
import Testing

/// How tasks run once the executable has installed ``ProcessTuning/runTasksOnEventLoops()``, seen
/// from `executor-probe`, a process of its own (the hook is process-wide and cannot be removed).
@Suite("Tasks on the event loops", .timeLimit(.minutes(1)))
struct ExecutorTests {
    struct Report: Decodable {
        var installed: Bool
        var taskOnEventLoop: Bool
        var stepsBeforeQueuedWork: Int
        var steps: Int
        var onEventLoopAfterActor: Bool
    }

    @Test("tasks run on the event loops, and an await that needs no other executor continues at once")
    func awaitsContinueInline() async throws {
        let probe = try await ChildProcess.run(RelayExecutable.builtProduct("executor-probe"), [])
        #expect(probe.status == 0, "\(probe.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(probe.stdout.utf8))
        #expect(report.installed)
        #expect(report.taskOnEventLoop)
        // Each await going back through the loop's queue (as with NIO's own hook) lets the queued
        // work in before the first step has finished.
        #expect(report.stepsBeforeQueuedWork == report.steps)
        #expect(report.steps == 1000)
        #expect(report.onEventLoopAfterActor)
    }
}
