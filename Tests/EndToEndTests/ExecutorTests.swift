import Foundation
import RelayTestSupport
import Testing

/// How tasks run once the executable has installed ``ProcessTuning/runTasksOnEventLoops()``, and
/// how freed memory behaves under ``ProcessTuning/fixMallocThreshold()``, seen from
/// `executor-probe`, a process of its own (both are process-wide and cannot be undone).
@Suite("Tasks on the event loops", .timeLimit(.minutes(1)))
struct ExecutorTests {
    struct Report: Decodable {
        var installed: Bool
        var taskOnEventLoop: Bool
        var stepsBeforeQueuedWork: Int
        var steps: Int
        var onEventLoopAfterActor: Bool
        var pageFaultsFor20FreedBlocks: Int
    }

    private func probe() async throws -> Report {
        let probe = try await ChildProcess.run(RelayExecutable.builtProduct("executor-probe"), [])
        #expect(probe.status == 0, "\(probe.stderr)")
        return try JSONDecoder().decode(Report.self, from: Data(probe.stdout.utf8))
    }

    @Test("a freed 1 MiB block's pages stay in the heap for the next one: no page faults once warm")
    func freedBlocksKeepTheirPages() async throws {
        let report = try await probe()
        // With glibc's default trim threshold (128 KiB) each freed block at the top of the heap was
        // given back to the kernel, and the next one faulted its 256 pages in again.
        #expect((0..<20).contains(report.pageFaultsFor20FreedBlocks))
    }

    @Test("tasks run on the event loops, and an await that needs no other executor continues at once")
    func awaitsContinueInline() async throws {
        let report = try await probe()
        #expect(report.installed)
        #expect(report.taskOnEventLoop)
        // Each await going back through the loop's queue (as with NIO's own hook) lets the queued
        // work in before the first step has finished.
        #expect(report.stepsBeforeQueuedWork == report.steps)
        #expect(report.steps == 1000)
        #expect(report.onEventLoopAfterActor)
    }
}
